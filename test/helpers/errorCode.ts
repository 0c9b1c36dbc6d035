// One codeOf for the tests and the conformance kit (packages/testing), which the kit's suites use too.
export { codeOf } from '../../packages/testing/src/internal/errorCode.js'
