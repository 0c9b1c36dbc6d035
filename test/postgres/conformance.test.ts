// The Postgres example store (examples/postgres-store) against the kit's StreamStore and
// RunStateStore suites, on a PostgreSQL cluster this file starts.
import { describeRunStateConformance, describeStreamStoreConformance, uniqueName } from '@leanflow/testing'
import { createPostgresStreamStore, postgresStoreInternals } from '../../examples/postgres-store/postgresStreamStore.js'
import { usePostgres } from '../helpers/postgresServer.js'

const pg = usePostgres()
const schema = () => uniqueName('s').toLowerCase()

describeStreamStoreConformance(
  'postgres',
  async (opts) => createPostgresStreamStore({ connectionString: pg.url, schema: schema(), poolSize: 4, ...opts }),
  {
    faults: {
      // a fast shutdown and a start on the same data dir: the pool's and the LISTEN connection are dropped
      restart: () => pg.restart(),
      // a real dropped connection: the LISTEN connection's backend is terminated, and the store may
      // not connect again until restore() (it then catches up by id)
      cutLive: async (store) => {
        const listener = postgresStoreInternals(store)
        const release = listener.hold()
        const pid = listener.pid
        const admin = (store as Awaited<ReturnType<typeof createPostgresStreamStore>>).pool
        await admin.query('SELECT pg_terminate_backend($1)', [pid])
        return async () => {
          release()
          await listener.ready()
        }
      },
    },
  },
)

describeRunStateConformance('postgres', async () => {
  const store = await createPostgresStreamStore({ connectionString: pg.url, schema: schema(), poolSize: 4 })
  return { store, cleanup: () => store.close() }
})
