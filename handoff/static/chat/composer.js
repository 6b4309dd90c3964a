// The message box: Enter sends, Shift+Enter breaks the line, it grows with its text and counts
// characters as the limit nears.
export function createComposer(app) {
  const { st, els, t } = app;

  function autosize() {
    els.input.style.height = "auto";
    els.input.style.height = Math.min(140, els.input.scrollHeight) + "px";
    const n = els.input.value.length;
    els.counter.hidden = n < st.maxChars * 0.8;
    els.counter.textContent = t("char_count", { n, max: st.maxChars });
    els.counter.classList.toggle("over", n > st.maxChars);
  }

  function wireComposer() {
    els.composer.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = els.input.value;
      if (!text.trim()) return;
      els.input.value = "";
      autosize();
      app.sendText(text);
    });
    els.input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); els.composer.requestSubmit(); }
    });
    els.input.addEventListener("input", () => { autosize(); app.signalTyping(); });
  }

  return { wireComposer };
}
