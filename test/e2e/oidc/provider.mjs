// A real OpenID provider (oidc-provider, certified) for the team server's
// sign-in tests, on a free loopback port. server/auth/oauth/optest starts
// it and logs in through its devInteractions login and consent forms.
//
//   LOOM_OP_CLIENTS='[{"client_id":…,"client_secret":…,"redirect_uris":[…]}]' node provider.mjs
//
// Prints {"issuer": "http://127.0.0.1:PORT"} once listening; exits when
// its standard input closes (the test that started it is gone).
// Accounts: any login name signs in; its subject is the name, its email
// the name if it has an @, else NAME@example.test; names starting with
// "unverified" have email_verified false. Email claims come from userinfo
// only (oidc-provider's default), as with many real issuers.
import http from 'node:http';
import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.LOOM_OP_CLIENTS || '[]').map((c) => ({
  response_types: ['code'], grant_types: ['authorization_code'], ...c,
}));
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({
        sub: id,
        email: id.includes('@') ? id : `${id}@example.test`,
        email_verified: !id.startsWith('unverified'),
        name: `Test ${id}`,
      }),
    }),
    cookies: { keys: ['test-only-cookie-key'] },
  });
  provider.on('server_error', (ctx, err) => console.error('oidc-provider:', err));
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
