// Signing in a borrower the lender's site vouches for (docs/borrower-api.md, "Signing in"):
// - the lender's page opens the chat with `#identity_token=<token>` (a fragment never reaches a server log);
// - in development the service offers a demo sign-in with fictional borrowers (GET /api/identity/demo).
// Either way the borrower's open conversation, if there is one, comes back here (POST /api/identity/resume).
import { request } from "/static/shared/api.js";
import { byId, el } from "/static/shared/dom.js";

export function createSignIn(app) {
  const { t } = app;
  const bar = byId("signin-bar");
  const select = byId("signin-borrower");
  const button = byId("signin-button");
  const who = byId("signin-who");
  const label = byId("signin-label");
  const remind = byId("demo-reminder");
  let demoBorrower = null;
  let shown = null;  // who is signed in, to say it again in the other language

  function renderSignIn() {
    if (shown) who.textContent = t(shown.key, { name: shown.name });
  }

  function showSignedIn(identity, resumed = false) {
    bar.hidden = false;
    for (const part of [label, select, button]) part.hidden = true;
    shown = { key: resumed ? "signed_in_resumed" : "signed_in_as", name: identity.name || identity.borrower_id };
    renderSignIn();
    // Development only: the demo sign-in's borrowers can ask for a repayment reminder (POST /api/dev/reminders).
    if (demoBorrower === identity.borrower_id) remind.hidden = false;
  }

  async function demoReminder() {
    remind.disabled = true;
    try {
      await request("POST", "/api/dev/reminders", { borrower_id: demoBorrower, kind: "due_soon" });
    } catch {
      app.showBanner(t("signin_failed"));
    } finally {
      remind.disabled = false;
    }
  }

  // A borrower who has written nothing here yet (a second browser, a new tab) continues their latest open
  // conversation, history and all; the service answers 404 when there is none and leaves the token unused.
  async function resume(token) {
    if (app.st.lastBorrowerSeq > 0 || app.st.pending.size > 0) return null;
    try {
      const resumed = await request("POST", "/api/identity/resume", { token });
      await app.openConversation(resumed);
      return resumed;
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
  }

  async function signInWith(token) {
    try {
      const resumed = await resume(token);
      if (resumed) showSignedIn(resumed, true);
      else showSignedIn(await app.api("POST", app.convPath("/identity"), { token }));
    } catch (err) {
      app.showBanner(err.code === "identity_reused" ? t("signin_reused") : t("signin_failed"));
    }
  }

  async function demoSignIn() {
    button.disabled = true;
    try {
      const { token } = await request("POST", "/api/identity/demo/token", { borrower_id: select.value });
      demoBorrower = select.value;
      await signInWith(token);
    } catch {
      app.showBanner(t("signin_failed"));
    } finally {
      button.disabled = false;
    }
  }

  // A conversation this browser had (a reload): the service says whether it is signed in and as whom; the
  // page keeps only the conversation token, never the identity token.
  async function signedInAlready() {
    try {
      return await app.api("GET", app.convPath("/identity"));
    } catch {
      return null;
    }
  }

  // After the conversation exists: a token in the fragment signs in at once; else a restored conversation
  // that is signed in says so; else offer the demo if it is on.
  async function offerSignIn(restored = false) {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const token = fragment.get("identity_token");
    if (token) {
      history.replaceState(null, "", location.pathname + location.search);
      await signInWith(token);
      return;
    }
    const status = restored ? await signedInAlready() : null;
    const identity = status && status.verified ? status : null;
    let borrowers = null;
    try {
      ({ borrowers } = await request("GET", "/api/identity/demo"));
    } catch {
      borrowers = null; // production: no demo
    }
    if (identity) {
      if (borrowers && borrowers.some((b) => b.borrower_id === identity.borrower_id)) demoBorrower = identity.borrower_id;
      showSignedIn(identity);
      return;
    }
    // Older than BORROWER_SIGNIN_MAX_AGE_S: the bot no longer reads this borrower's loans until they sign in again.
    shown = status && status.expired ? { key: "signin_expired", name: "" } : null;
    renderSignIn();
    if (borrowers) {
      select.replaceChildren(...borrowers.map((b) => el("option", { value: b.borrower_id, text: b.label })));
      bar.hidden = false;
    } else {
      bar.hidden = !shown;
    }
  }

  // The service found this conversation's sign-in expired (the bot was asked about the borrower's own loan):
  // say so where the page said "Signed in as ...", and offer the demo sign-in again where there is one.
  function signInExpired() {
    shown = { key: "signin_expired", name: "" };
    renderSignIn();
    remind.hidden = true;
    if (select.options.length) for (const part of [label, select, button]) part.hidden = false;
    bar.hidden = false;
  }

  button.addEventListener("click", demoSignIn);
  remind.addEventListener("click", demoReminder);
  return { offerSignIn, renderSignIn, signInExpired };
}
