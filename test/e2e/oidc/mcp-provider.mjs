// oidc-provider as an MCP server's authorization server, for mcpclient's
// OAuth tests, on a free loopback port: open dynamic client registration
// (RFC 7591), PKCE S256 required, resource indicators (RFC 8707) whose
// access tokens are JWTs for that resource, refresh tokens for every
// client allowed them, and devInteractions (login and consent forms a test
// can post).
//
//   LOOM_OP_TOKEN_TTL=SECONDS node mcp-provider.mjs
//
// Prints {"issuer": "http://127.0.0.1:PORT"} once listening; exits when
// its standard input closes. Any login name signs in.
import http from 'node:http';
import Provider from 'oidc-provider';

const ttl = Number(process.env.LOOM_OP_TOKEN_TTL || 3600);
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    pkce: { required: () => true },
    scopes: ['mcp', 'offline_access'],
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => (oneOf ? oneOf[0] : undefined),
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => ({
          scope: 'mcp',
          audience: resource,
          accessTokenTTL: ttl,
          accessTokenFormat: 'jwt',
        }),
      },
    },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    cookies: { keys: ['test-only-cookie-key'] },
  });
  provider.on('server_error', (ctx, err) => console.error('oidc-provider:', err));
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
