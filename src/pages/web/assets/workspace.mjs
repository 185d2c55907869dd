// Progressive enhancement only: every page works without this script. NHS.UK frontend's components (the header's
// menu, conditional radios, error summary focus) start once the body says the browser supports them.
/* global document */
import { initAll } from './nhsuk/nhsuk-frontend.min.js';

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported');
initAll();
