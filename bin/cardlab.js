#!/usr/bin/env node
'use strict';
const path = require('path');
const fs = require('fs');
const cli = path.join(__dirname, '..', 'dist', 'src', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error(`cardlab: ${cli} is missing; run \`npm run build\` (or \`npm install\`, which builds) first.`);
  process.exit(1);
}
require(cli).main(process.argv).catch((err) => {
  console.error(`cardlab: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
