// The callback request: a dialog asking for a phone number or e-mail address and a good time.
export function createCallback(app) {
  const { els, t } = app;

  function method() { return els.callbackForm.querySelector("input[name=method]:checked").value; }

  function updateContactLabel() {
    const phone = method() === "phone";
    els.contactLabel.textContent = t(phone ? "phone_number" : "email_address");
    els.contact.type = phone ? "tel" : "email";
    els.contact.inputMode = phone ? "tel" : "email";
    els.contact.autocomplete = phone ? "tel" : "email";
  }

  function openCallback() {
    els.callbackError.hidden = true;
    if (typeof els.dialog.showModal === "function") els.dialog.showModal(); else els.dialog.setAttribute("open", "");
    els.contact.focus();
  }

  function closeCallback() { if (els.dialog.open) els.dialog.close(); }

  async function submit(ev) {
    ev.preventDefault();
    const body = { contact_method: method(), contact: els.contact.value.trim(), preferred_time: els.preferred.value.trim() };
    try {
      app.applyStateView(await app.api("POST", app.convPath("/callback"), body));
      closeCallback();
      els.contact.value = ""; els.preferred.value = "";
      app.poll();
    } catch (err) {
      const badContact = err.code === "invalid_input" && /^contact/.test(err.message || "");
      els.callbackError.textContent = badContact ? t(method() === "phone" ? "callback_bad_phone" : "callback_bad_email") : app.errorText(err);
      els.callbackError.hidden = false;
    }
  }

  function wireCallback() {
    els.callbackForm.querySelectorAll("input[name=method]").forEach((r) => r.addEventListener("change", updateContactLabel));
    els.callbackCancel.addEventListener("click", closeCallback);
    els.callbackForm.addEventListener("submit", submit);
    els.callbackOffer.addEventListener("click", openCallback);
  }

  return { openCallback, updateContactLabel, wireCallback };
}
