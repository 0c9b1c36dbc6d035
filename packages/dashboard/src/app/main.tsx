// The dashboard page: renders the app into #app.
import { render } from 'preact'
import { App } from './App.js'
import { showBidiControls } from './visibleText.js'
import './styles.css'

// every text shown writes bidi controls as escapes (an RTL override in a log row cannot reorder it)
showBidiControls()
const root = document.getElementById('app')
if (root) render(<App />, root)
