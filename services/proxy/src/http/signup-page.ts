/**
 * The page behind a signup or reset link: choose a password. It calls the same JSON endpoint a
 * script would (`PUT /v1/webapi/users/password/token`). No third-party assets; the inline script runs
 * under a per-response nonce.
 */
export function signupPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Set your password</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f4f5f7; display: flex; justify-content: center; padding-top: 10vh; }
  main { background: #fff; padding: 2rem; border-radius: 8px; width: 22rem; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
  label { display: block; margin-top: 1rem; font-size: .9rem; }
  input { width: 100%; box-sizing: border-box; padding: .5rem; margin-top: .25rem; font-size: 1rem; }
  button { margin-top: 1.5rem; width: 100%; padding: .6rem; font-size: 1rem; cursor: pointer; }
  .error { color: #b00020; } .ok { color: #1b5e20; }
</style>
</head>
<body>
<main>
  <h1 id="title">Set your password</h1>
  <p id="who"></p>
  <form id="form">
    <label>Password <input id="password" type="password" autocomplete="new-password" minlength="12" required></label>
    <label>Confirm password <input id="confirm" type="password" autocomplete="new-password" minlength="12" required></label>
    <button type="submit">Set password</button>
  </form>
  <p id="status" role="status"></p>
</main>
<script nonce="${nonce}">
  const token = location.pathname.split('/').pop();
  const status = document.getElementById('status');
  const form = document.getElementById('form');
  const show = (text, cls) => { status.textContent = text; status.className = cls; };
  fetch('/v1/webapi/users/password/token/' + encodeURIComponent(token))
    .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
    .then(({ ok, body }) => {
      if (!ok) { form.hidden = true; return show(body.error.message, 'error'); }
      document.getElementById('who').textContent = 'User: ' + body.user;
    });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const password = document.getElementById('password').value;
    if (password !== document.getElementById('confirm').value) return show('The passwords do not match.', 'error');
    const r = await fetch('/v1/webapi/users/password/token', {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password }),
    });
    const body = await r.json();
    if (!r.ok) return show(body.error.message, 'error');
    form.hidden = true;
    show('Password set. Log in with: tsh login --proxy=' + location.host + ' --user=' + body.user, 'ok');
  });
</script>
</body>
</html>
`;
}
