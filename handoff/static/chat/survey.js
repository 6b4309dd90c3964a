// The short, optional satisfaction survey after an agent closed the chat: 1-5 and a comment, once.
import { el } from "/static/shared/dom.js";

export function createSurvey(app) {
  const { st, els, t } = app;
  let rating = 0;
  let asked = null;  // the conversation id the survey was looked up for

  function render(state) {
    const box = els.survey;
    const appearing = box.hidden && state === "ask";
    box.hidden = state === "hidden";
    if (state === "thanks") {
      box.replaceChildren(el("p", { class: "survey-thanks", text: t("survey_thanks") }));
      return;
    }
    if (state !== "ask") return;
    const stars = el("div", { class: "survey-stars", role: "radiogroup", "aria-label": t("survey_question") },
      [1, 2, 3, 4, 5].map((n) => el("button", {
        type: "button", class: n <= rating ? "star on" : "star", role: "radio", "aria-checked": String(n === rating),
        "aria-label": t("survey_star", { n }), text: "★", onclick: () => { rating = n; render("ask"); },
      })));
    const comment = el("textarea", { id: "survey-comment", rows: "2", maxlength: "1000", placeholder: t("survey_comment") });
    comment.value = els.survey.dataset.comment || "";
    comment.addEventListener("input", () => { els.survey.dataset.comment = comment.value; });
    const send = el("button", { type: "button", class: "primary", id: "survey-send", text: t("survey_send"),
      onclick: () => submit(comment.value) });
    send.disabled = rating === 0;
    box.replaceChildren(
      el("p", { class: "survey-question", text: t("survey_question") }), stars, comment,
      el("div", { class: "survey-actions" }, [
        el("button", { type: "button", class: "secondary", id: "survey-skip", text: t("survey_skip"),
          onclick: () => render("hidden") }), send]),
      el("p", { class: "form-error", id: "survey-error", hidden: "" }),
    );
    if (appearing) app.scrollDown();  // it takes room from the messages: keep their last one in view
  }

  async function submit(comment) {
    try {
      await app.api("POST", app.convPath("/survey"), { rating, comment: comment.trim() });
      render("thanks");
    } catch (error) {
      const node = document.getElementById("survey-error");
      node.textContent = error.status === 409 ? t("survey_thanks") : t("error_generic");
      node.hidden = false;
    }
  }

  // Called whenever the view is drawn: asks the service once per closed conversation.
  async function checkSurvey() {
    if (!st.conv || st.view.state !== "closed" || asked === st.conv.id) return;
    asked = st.conv.id;
    try {
      const survey = await app.api("GET", app.convPath("/survey"));
      if (survey.offered && !survey.answered) render("ask");
    } catch { /* optional: no survey rather than an error */ }
  }

  // Re-draw in the other language without losing the choice.
  function renderSurvey() {
    if (!els.survey.hidden && els.survey.querySelector(".survey-stars")) render("ask");
    else if (!els.survey.hidden && els.survey.querySelector(".survey-thanks")) render("thanks");
  }

  return { checkSurvey, renderSurvey };
}
