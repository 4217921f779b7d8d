// The test suite's OAuth2 authorization server: npm's oidc-provider (pinned in package.json and
// package-lock.json), on loopback only, started by ../start.sh. Not one of ours: the core's
// token manager talks to it as it would to Microsoft's or Google's.
//
// - Access tokens are JWTs signed with HS256 by the key Dovecot validates locally
//   ($MS_OAUTH2_KEY_FILE, base64), header typ "JWT", sub = the mailbox (the account id, or for
//   the client credentials grant the client's `mailbox` metadata): Dovecot (IMAP, POP3) and
//   Postfix (SMTP AUTH through Dovecot) accept them.
// - Lifetimes of seconds (MS_OAUTH2_ACCESS_TTL, default 4 s) so the tests cross expiries fast.
// - Refresh tokens rotate on every use; a spent one is refused with invalid_grant (and the
//   server revokes that grant, as Microsoft-style reuse detection does).
// - Grants: refresh_token, client_credentials, device_code (RFC 8628), authorization_code with
//   PKCE (S256 required).
// - Test-only routes under /test/ stand in for the person at the browser:
//   POST /test/approve-device (form: user_code, account) approves a device code as that user;
//   GET /test/interaction/:uid logs the user named by login_hint in and consents at once;
//   GET /test/stats gives the number of token requests per grant (the tests count refreshes).
import { createSecretKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.MS_OAUTH2_SERVER_PORT || 18443);
const accessTtl = Number(process.env.MS_OAUTH2_ACCESS_TTL || 4);
const keyFile = process.env.MS_OAUTH2_KEY_FILE;
const domain = process.env.MS_MAIL_DOMAIN || 'example.test';
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'urn:mail-settings:test-mail';
const key = createSecretKey(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64'));

const stats = { token_requests: 0, by_grant: {} };

const configuration = {
  clients: [
    {
      // A public client (no secret), like a desktop app or the command.
      client_id: 'ms-public',
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      grant_types: ['refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', 'authorization_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
    {
      // A confidential client; its client credentials tokens are for `mailbox`.
      client_id: 'ms-confidential',
      client_secret: process.env.MS_OAUTH2_CLIENT_SECRET || 'ms-oauth2-client-Secret-93e1',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', 'client_credentials'],
      response_types: [],
      redirect_uris: [],
      mailbox: `oauth2-app-only@${domain}`,
    },
  ],
  extraClientMetadata: { properties: ['mailbox'] },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  scopes: ['openid', 'offline_access', 'mail'],
  features: {
    devInteractions: { enabled: false },
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'mail',
        audience: RESOURCE,
        accessTokenFormat: 'jwt',
        accessTokenTTL: accessTtl,
        jwt: { sign: { alg: 'HS256', key } },
      }),
    },
  },
  formats: {
    customizers: {
      jwt: async (ctx, token, jwt) => {
        jwt.header = { typ: 'JWT' };
        if (!token.accountId && token.client?.mailbox) jwt.payload.sub = token.client.mailbox;
      },
    },
  },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: {
    AccessToken: accessTtl,
    ClientCredentials: accessTtl,
    DeviceCode: 600,
    RefreshToken: 86400,
    Grant: 86400,
    Interaction: 600,
    Session: 600,
    AuthorizationCode: 60,
  },
  interactions: { url: (ctx, interaction) => `/test/interaction/${interaction.uid}` },
  cookies: { keys: ['ms-test-cookie-key-not-a-secret'] },
};

const provider = new Provider(issuer, configuration);

async function grantFor(accountId, clientId) {
  const grant = new provider.Grant({ accountId, clientId });
  grant.addOIDCScope('openid offline_access mail');
  grant.addResourceScope(RESOURCE, 'mail');
  return grant.save();
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > 65536) throw new Error('body too large');
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/token' && ctx.method === 'POST') {
    stats.token_requests += 1;
  }
  if (ctx.path === '/test/stats' && ctx.method === 'GET') {
    ctx.body = stats;
    return;
  }
  if (ctx.path === '/test/approve-device' && ctx.method === 'POST') {
    const form = await readForm(ctx.req);
    const code = await provider.DeviceCode.findByUserCode(
      (form.get('user_code') || '').toUpperCase().replace(/\W/g, ''),
    );
    if (!code) {
      ctx.status = 404;
      ctx.body = { error: 'unknown user code' };
      return;
    }
    const accountId = form.get('account') || `oauth2-user@${domain}`;
    const grantId = await grantFor(accountId, code.clientId);
    Object.assign(code, {
      accountId,
      grantId,
      authTime: Math.floor(Date.now() / 1000),
      scope: 'openid offline_access mail',
      resource: RESOURCE,
    });
    await code.save();
    ctx.body = { approved: true };
    return;
  }
  const m = /^\/test\/interaction\/([^/]+)$/.exec(ctx.path);
  if (m && ctx.method === 'GET') {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const accountId = details.params.login_hint || `oauth2-user@${domain}`;
    const grantId = await grantFor(accountId, details.params.client_id);
    await provider.interactionFinished(
      ctx.req,
      ctx.res,
      { login: { accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
    ctx.respond = false;
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.method === 'POST' && ctx.status === 200) {
    const gty = ctx.oidc?.params?.grant_type || 'unknown';
    stats.by_grant[gty] = (stats.by_grant[gty] || 0) + 1;
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer} (access tokens live ${accessTtl} s)`);
});
