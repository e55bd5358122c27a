'use strict';
// Drop-in for ssh2-sftp-client v12: `const Client = require('psftp/ssh2-sftp-client');`
module.exports = require('./lib/client');
