// Preload (node --import) for Portkey's gateway, which calls
// serve({port}) with no host, that is on every interface: every listen
// given a port alone goes to 127.0.0.1 instead (the benchmark is loopback
// only).
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...a) {
  if (typeof a[0] === 'number' && (a[1] === undefined || typeof a[1] === 'function')) {
    if (a[1] === undefined) a[1] = '127.0.0.1';
    else a.splice(1, 0, '127.0.0.1');
  } else if (a[0] && typeof a[0] === 'object' && a[0].port !== undefined && !a[0].host) {
    a[0] = { ...a[0], host: '127.0.0.1' };
  }
  return listen.apply(this, a);
};
