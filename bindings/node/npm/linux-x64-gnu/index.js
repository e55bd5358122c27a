'use strict';
// The prebuilt libpsftp of this package, for psftp's loader (lib/native.js).
module.exports = require('node:path').join(__dirname, 'libpsftp.so.0.1');
