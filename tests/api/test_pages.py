"""The pages e-mailed links open: /signup/complete, /invitation/accept, /login.

In-process tests check each page's markup (every input labelled, hints and
errors tied to their input, the token kept out of Referer headers) and that
the mutation the form carries completes the step when sent with the form's
fields, as the page's script sends it. The browser test walks the whole way in
a real headless Chromium against `wehostvoip serve`: the e-mailed sign-up link,
the form, GraphiQL logged in (mutations with the CSRF header from the cookie),
an invitation e-mailed from there and accepted in another browser.
"""

from __future__ import annotations

import json
import re
import signal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.browser import Browser
from tests.graphql import PASSWORD, SIGN_UP, Client, last_link
from tests.mailbox import Mailbox, links

PAGES = ["/signup/complete?token=abc", "/invitation/accept?token=abc", "/login"]


class _Form(HTMLParser):
    """The inputs, labels and form attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str]] = []
        self.labels: set[str] = set()
        self.ids: set[str] = set()
        self.form: dict[str, str] = {}
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "html":
            self.lang = values.get("lang", "")
        elif tag == "input":
            self.inputs.append(values)
        elif tag == "label":
            self.labels.add(values.get("for", ""))
        elif tag == "form":
            self.form = values


def _parse(text: str) -> _Form:
    parsed = _Form()
    parsed.feed(text)
    return parsed


@pytest.mark.parametrize("path", PAGES)
async def test_each_page_is_an_accessible_form(client: httpx.AsyncClient, path: str):
    page = await client.get(path)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    parsed = _parse(page.text)
    assert parsed.lang == "en"
    visible = [field for field in parsed.inputs if field["type"] != "hidden"]
    assert visible
    for field in visible:
        assert field["id"] in parsed.labels, f"{field['name']} has no label"
        for described in field["aria-describedby"].split():
            assert described in parsed.ids
    assert parsed.form["action"] == "/graphql"
    assert 'role="status"' in page.text
    for asset in re.findall(r'(?:src|href)="(/pages/[^"]+)"', page.text):
        assert (await client.get(asset)).status_code == 200
    assert "<script>" not in page.text  # no inline script


async def test_the_password_rule_is_said_on_the_page(client: httpx.AsyncClient):
    page = (await client.get("/signup/complete?token=abc")).text
    assert "At least 12 characters" in page


async def test_a_link_without_its_token_says_so(client: httpx.AsyncClient):
    page = await client.get("/signup/complete")
    assert page.status_code == 200
    assert 'role="alert"' in page.text
    assert "<form" not in page.text


async def test_the_token_is_escaped(client: httpx.AsyncClient):
    page = (await client.get('/invitation/accept?token="><script>x</script>')).text
    assert "<script>x</script>" not in page
    assert _parse(page).inputs[0]["value"] == '"><script>x</script>'


def _form_input(page: str, values: dict[str, str]) -> dict[str, Any]:
    """The mutation's input as the page's script builds it from the named inputs."""
    result: dict[str, Any] = {}
    for field in _parse(page).inputs:
        value = values.get(field["name"], field.get("value", ""))
        if value == "":
            continue
        *parents, last = field["name"].split(".")
        target = result
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return result


async def test_the_signup_form_completes_the_sign_up(app, client: httpx.AsyncClient,
                                                     engine: Engine):
    browser = Client(app)
    await browser.execute(SIGN_UP, {"email": "owner@fresh.example"})
    token = last_link(engine, "owner@fresh.example", "/signup/complete")
    page = (await client.get(f"/signup/complete?token={token}")).text
    form = _parse(page).form
    variables = {"input": _form_input(page, {
        "fullName": "Fresh Owner", "password": PASSWORD, "isp.name": "Fresh Telecom",
        "isp.namespaceLabel": "fresh"})}
    answer = (await browser.http.post("/graphql", json={
        "query": form["data-document"], "variables": variables})).json()
    payload = answer["data"][form["data-root"]]
    assert payload["errors"] == []
    assert payload["isp"]["name"] == "Fresh Telecom"
    assert "whv_session" in browser.http.cookies  # logged in: GraphiQL goes on from here
    # Sent again from the same, now logged-in browser: the script adds the CSRF header
    # from the cookie, so the answer is about the spent link, not a forgery refusal.
    again = (await browser.http.post("/graphql", json={
        "query": form["data-document"], "variables": variables},
        headers={"X-CSRF-Token": browser.http.cookies["whv_csrf"]})).json()
    assert again["data"][form["data-root"]]["errors"][0]["field"] == ["token"]
    await browser.close()


# The whole way, in a real browser ------------------------------------------------------

FILL_AND_SEND = """
(async () => {
  const values = %s;
  const form = document.querySelector("form");
  for (const [name, value] of Object.entries(values)) form.elements.namedItem(name).value = value;
  form.requestSubmit();
  return true;
})()
"""

RUN_IN_GRAPHIQL = """
(async () => {
  const result = await window.wehostvoipFetcher({query: %s, variables: %s});
  return JSON.stringify(result);
})()
"""


def _run_in_graphiql(page: Any, query: str, variables: dict[str, Any] | None = None) -> Any:
    return json.loads(page.evaluate(RUN_IN_GRAPHIQL % (json.dumps(query),
                                                         json.dumps(variables or {}))))


@pytest.mark.browser
def test_a_new_isp_signs_up_from_the_email_and_invites_a_colleague(tmp_path: Path,
                                                                   mailbox: Mailbox):
    from tests.cli.test_cli import free_port, start, wait_for_line
    from tests.cli.test_serve_lifecycle import _stops_after

    port = free_port()
    process = start(tmp_path, "serve", "--port", str(port), WEHOSTVOIP_SMTP_HOST="127.0.0.1",
                    WEHOSTVOIP_SMTP_PORT=str(mailbox.port), WEHOSTVOIP_SMTP_STARTTLS="false")
    try:
        wait_for_line(process, "GraphiQL: open")
        base = f"http://127.0.0.1:{port}"
        asked = httpx.post(f"{base}/graphql", json={
            "query": SIGN_UP, "variables": {"email": "owner@newisp.example"}}).json()
        assert asked["data"]["ispSignUp"]["errors"] == []
        link = links(mailbox.wait_for_message("owner@newisp.example", timeout=30))[0]
        assert link.startswith(f"{base}/signup/complete?token=")  # the port actually served

        with Browser(tmp_path / "owner-browser") as browser:
            page = browser.open(link)
            page.evaluate(FILL_AND_SEND % json.dumps({
                "fullName": "Nina Owner", "password": "short", "isp.name": "New ISP",
                "isp.namespaceLabel": "newisp"}))
            error = page.wait_for(
                "document.querySelector('[data-error-for=\"password\"]').textContent")
            assert "12 characters" in error
            assert page.evaluate(
                "document.activeElement.name + ':' + "
                "document.activeElement.getAttribute('aria-invalid')") == "password:true"
            page.evaluate(FILL_AND_SEND % json.dumps({"password": PASSWORD}))
            page.wait_for("!document.getElementById('done').hidden")
            assert "signed up" in page.evaluate("document.getElementById('status').textContent")

            graphiql = browser.open(f"{base}/graphql")
            graphiql.wait_for("document.querySelector('.graphiql-editors') !== null")
            me = _run_in_graphiql(graphiql, "{ me { email } }")
            assert me["data"]["me"]["email"] == "owner@newisp.example"
            isp = _run_in_graphiql(graphiql, "{ isps(first: 1) { edges { node { id } } } }")
            isp_id = isp["data"]["isps"]["edges"][0]["node"]["id"]
            invited = _run_in_graphiql(graphiql, """
                mutation($isp: ID!) { administratorInvite(input: {
                  email: "colleague@newisp.example", isp: $isp}) { errors { code message } } }
            """, {"isp": isp_id})
            assert invited.get("errors") is None, invited  # no CSRF_CHECK_FAILED
            assert invited["data"]["administratorInvite"]["errors"] == []

        invitation = links(mailbox.wait_for_message("colleague@newisp.example", timeout=30))
        accept = next(url for url in invitation if "/invitation/accept?token=" in url)
        assert accept.startswith(base)
        with Browser(tmp_path / "colleague-browser") as browser:
            page = browser.open(accept)
            page.evaluate(FILL_AND_SEND % json.dumps({"fullName": "Colin League",
                                                       "password": PASSWORD}))
            page.wait_for("!document.getElementById('done').hidden")
            graphiql = browser.open(f"{base}/graphql")
            graphiql.wait_for("window.wehostvoipFetcher !== undefined")
            me = _run_in_graphiql(graphiql, "{ me { email } }")
            assert me["data"]["me"]["email"] == "colleague@newisp.example"
    finally:
        code, output = _stops_after(process, signal.SIGTERM, port)
    assert code == 0, output


async def test_the_pages_speak_of_this_platform(client: httpx.AsyncClient):
    page = (await client.get("/signup/complete?token=abc")).text
    assert "&lt;label&gt;.wehostvoip.test" in page  # the suite's base domain
    assert 'href="/graphql"' in page  # GraphiQL is on in the embedded default
