"""Server-rendered HTML: a shared layout plus the OAuth login/consent/error pages.

Everything user-supplied goes through `esc()`; forms carry OAuth parameters as hidden fields.
"""

from __future__ import annotations

from html import escape

from .web import Response

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f3f6f9;color:#181818;
margin:0}
header{background:#0176d3;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1rem;align-items:center}
header a{color:#fff}
header .who{margin-left:auto}
main{max-width:60rem;margin:1.5rem auto;padding:0 1rem}
.card{background:#fff;border:1px solid #dddbda;border-radius:.4rem;padding:1.2rem;
margin-bottom:1rem}
.narrow{max-width:24rem;margin:3rem auto}
label{display:block;margin:.6rem 0 .2rem;font-weight:600}
input[type=text],input[type=password],input[type=date],textarea,select{width:100%;padding:.4rem;
box-sizing:border-box;border:1px solid #c9c9c9;border-radius:.25rem}
button,.button{background:#0176d3;color:#fff;border:0;border-radius:.25rem;padding:.45rem .9rem;
cursor:pointer;text-decoration:none;display:inline-block;font-size:.95rem}
button.secondary{background:#fff;color:#0176d3;border:1px solid #0176d3}
button.danger{background:#ba0517}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem;border-bottom:1px solid #e5e5e5;vertical-align:top}
.error{color:#ba0517;background:#fef1ee;padding:.5rem;border-radius:.25rem}
.muted{color:#706e6b;font-size:.9rem}
.inline{display:inline}
"""


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def layout(title: str, body: str, *, user: dict | None = None, nav: bool = False) -> str:
    who = ""
    if user:
        who = (
            f'<span class="who">{esc(user["display_name"])} ({esc(user["username"])})'
            ' <form class="inline" method="post" action="/ui/logout">'
            f"{hidden({'csrf': user['csrf']}) if user.get('csrf') else ''}"
            '<button class="secondary">Log out</button></form></span>'
        )
    links = (
        (
            '<a href="/ui/">Tasks</a><a href="/ui/recycle-bin">Recycle Bin</a>'
            '<a href="/ui/usage">API usage</a>'
        )
        if nav
        else ""
    )
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{CSS}</style></head><body><header><strong>Salesforce Emulator</strong>"
        f"{links}{who}</header><main>{body}</main></body></html>"
    )


def hidden(params: dict) -> str:
    return "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in params.items()
    )


def login_page(
    carry: dict, error: str | None, *, action: str = "/services/oauth2/authorize", status: int = 200
) -> Response:
    err = f'<p class="error" role="alert">{esc(error)}</p>' if error else ""
    body = (
        f'<div class="card narrow"><h1>Log in to Salesforce</h1>{err}'
        f'<form method="post" action="{esc(action)}">{hidden(carry)}'
        '<input type="hidden" name="action" value="login">'
        '<label for="username">Username</label>'
        '<input type="text" id="username" name="username" autocomplete="username" required>'
        '<label for="password">Password</label>'
        '<input type="password" id="password" name="password" autocomplete="current-password"'
        ' required><p><button type="submit" id="Login">Log In</button></p></form>'
        '<p class="muted">Emulated org — demo user <code>demo@tasksync.example</code> / '
        "<code>demo</code></p></div>"
    )
    return Response.html(
        layout("Login | Salesforce", body), status, headers=[("Cache-Control", "no-store")]
    )


def consent_page(carry: dict, app: dict, user: dict, csrf: str, headers=None) -> Response:
    scopes = "".join(
        f"<li>{esc(s)}</li>" for s in carry.get("scope", "api id refresh_token").split()
    )
    form = (
        f'<form method="post" action="/services/oauth2/authorize" class="inline">'
        f'{hidden(carry)}<input type="hidden" name="csrf" value="{esc(csrf)}">'
    )
    body = (
        f'<div class="card narrow"><h1>Allow Access?</h1>'
        f"<p><strong>{esc(app['name'])}</strong> is asking to:</p><ul>{scopes}</ul>"
        f'<p class="muted">Signed in as {esc(user["display_name"])} '
        f"({esc(user['username'])})</p>"
        f'{form}<button type="submit" name="action" value="allow" id="oaapprove">Allow'
        "</button></form> "
        f'{form}<button type="submit" name="action" value="deny" class="secondary"'
        ' id="oadeny">Deny</button></form></div>'
    )
    return Response.html(
        layout("Allow Access? | Salesforce", body),
        200,
        headers=[("Cache-Control", "no-store"), *(headers or [])],
    )


def error_page(error: str, description: str, status: int) -> Response:
    body = (
        f'<div class="card narrow"><h1>Error</h1><p class="error">error={esc(error)}'
        f"<br>error_description={esc(description)}</p></div>"
    )
    return Response.html(layout("Error | Salesforce", body), status)
