// Child process: opens a device with the options in argv[2] (JSON) and prints the error's
// code, syscall and errno name as JSON (or {"ok":true}).
import { openAfXdp, type AfXdpOptions } from '../../../netmap-binding/afxdp.js';
import { XdpError } from '../../../netmap-binding/loader.js';

try {
  const dev = openAfXdp(JSON.parse(process.argv[2]!) as AfXdpOptions);
  await dev.close();
  process.stdout.write(JSON.stringify({ ok: true }));
} catch (e) {
  const x = e as XdpError;
  process.stdout.write(JSON.stringify({ code: x.code, syscall: x.syscall, errnoName: x.errnoName, message: x.message, isXdpError: e instanceof XdpError }));
}
