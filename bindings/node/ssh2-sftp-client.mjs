// Drop-in for ssh2-sftp-client v12: `import Client from 'psftp/ssh2-sftp-client';`
import SftpClient from './lib/client.js';

export { SftpClient };
export default SftpClient;
