// A JavaScript developer's session against the emulator with unmodified jsforce 3, the way its
// README shows it. Run by tests/emulator/test_second_client.py, which reads the JSON printed on
// stdout: one entry per step, {"ok": value} or {"error": name, "message": ...}.
// Input: the CONTRACT environment variable, a JSON object (see the test).
'use strict';
const jsforce = require('jsforce');

const cfg = JSON.parse(process.env.CONTRACT);
const out = {};

async function step(name, fn) {
  try {
    out[name] = { ok: await fn() };
  } catch (err) {
    out[name] = { error: err.name || err.errorCode || 'Error', message: String(err.message) };
  }
}

async function control(method, args) {
  // The emulator's control API (test setup only): plain HTTP on the login port.
  const res = await fetch(`${cfg.loginUrl}/__emulator__/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(args || {}),
  });
  return (await res.json()).result;
}

(async () => {
  const oauth2 = new jsforce.OAuth2({
    loginUrl: cfg.loginUrl,
    clientId: cfg.clientId,
    clientSecret: cfg.clientSecret,
    redirectUri: cfg.redirectUri,
  });
  let conn = new jsforce.Connection({ oauth2, version: '59.0' });
  let refreshed = 0;

  // Sign-in: the token request jsforce posts is a chunked form.
  await step('authorize', async () => {
    const info = await conn.authorize(cfg.code);
    return { userId: info.id, orgId: info.organizationId, instanceUrl: conn.instanceUrl };
  });
  // A client rebuilt from stored tokens: identity() finds the URL in the resource list.
  await step('identity', async () => {
    conn = new jsforce.Connection({
      oauth2,
      instanceUrl: conn.instanceUrl,
      accessToken: conn.accessToken,
      refreshToken: conn.refreshToken,
      version: '59.0',
    });
    conn.on('refresh', () => { refreshed += 1; });
    const who = await conn.identity();
    return { username: who.username, userId: who.user_id };
  });
  const Task = conn.sobject('Task');
  let ids = [];
  await step('createOne', async () => (await Task.create({ Subject: 'js one' })).success);
  await step('createMany', async () => {
    const res = await Task.create([{ Subject: 'js two' }, { Subject: 'js three' }]);
    ids = res.map((r) => r.id);
    return res.map((r) => r.success);
  });
  await step('retrieveOne', async () => (await Task.retrieve(ids[0])).Subject);
  await step('retrieveMany', async () => {
    const recs = await Task.retrieve([ids[1], ids[0]]);
    return recs.map((r) => r.Subject);
  });
  await step('retrieveManyFields', async () => {
    const recs = await conn.retrieve('Task', [ids[0], '00T8a00000000000AAA'], { fields: ['Subject'] });
    return recs.map((r) => (r ? r.Subject : null));
  });
  await step('updateOne', async () => (await Task.update({ Id: ids[0], Priority: 'High' })).success);
  await step('updateMany', async () => {
    const res = await Task.update(ids.map((Id) => ({ Id, Status: 'Completed' })));
    return res.map((r) => r.success);
  });
  await step('upsert', async () => {
    const res = await Task.upsert({ TasksyncId__c: 'js-key', Subject: 'upserted' }, 'TasksyncId__c');
    return res.success;
  });
  await step('describe', async () => {
    const d = await Task.describe();
    return { name: d.name, hasStatus: d.fields.some((f) => f.name === 'Status') };
  });
  await step('queryAutoFetch', async () => {
    await control('create_tasks', { records_: cfg.bulk.map((Subject) => ({ Subject })) });
    const res = await conn.query("SELECT Id, Subject FROM Task WHERE Subject LIKE 'bulk%'", {
      autoFetch: true,
      maxFetch: 100000,
    });
    return res.records.length;
  });
  await step('limits', async () => {
    const l = await conn.limits();
    return Object.keys(l).sort();
  });
  await step('updated', async () => {
    await control('advance', { seconds: 120 }); // the window ends at a whole minute
    const end = new Date(Date.now() + 300000);
    const start = new Date(Date.now() - 3600000);
    return (await Task.updated(start, end)).ids.length > 0;
  });
  // Automatic refresh: the access token dies, the next call refreshes (chunked form) and retries.
  await step('autoRefresh', async () => {
    await control('expire_access_tokens', {});
    const res = await conn.query('SELECT COUNT() FROM Task');
    return { totalSize: res.totalSize, refreshed };
  });
  await step('destroyMany', async () => {
    const res = await Task.destroy(ids);
    return res.map((r) => r.success);
  });
  await step('composite', async () => {
    const res = await conn.requestPost('/composite', {
      compositeRequest: [
        { method: 'POST', url: '/services/data/v59.0/sobjects/Task', referenceId: 'made', body: { Subject: 'via composite' } },
        { method: 'GET', url: '/services/data/v59.0/sobjects/Task/@{made.id}?fields=Subject', referenceId: 'read' },
      ],
    });
    return res.compositeResponse.map((r) => r.httpStatusCode);
  });
  // Revoke (chunked form); the refresh token then no longer works.
  await step('revoke', async () => {
    await oauth2.revokeToken(conn.refreshToken);
    return true;
  });
  await step('revokeAgain', async () => {
    await oauth2.revokeToken(conn.refreshToken);
    return true;
  });
  await step('refreshAfterRevoke', async () => {
    await oauth2.refreshToken(conn.refreshToken);
    return true;
  });
  process.stdout.write(JSON.stringify(out));
})().catch((err) => {
  process.stdout.write(JSON.stringify({ fatal: String(err && err.stack) }));
  process.exit(1);
});
