// The one translation mechanism of both pages. Each page passes its own dictionaries ({en: {...}, zh: {...}});
// the language is the one the user picked last (stored under the page's key), else the browser's first
// English or Chinese preference, else English.

export const LANGS = ["en", "zh"];
const HTML_LANG = { en: "en", zh: "zh-CN" };

export function browserLanguage() {
  const wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
  for (const tag of wanted) {
    const low = String(tag).toLowerCase();
    if (low.startsWith("zh")) return "zh";
    if (low.startsWith("en")) return "en";
  }
  return "en";
}

export function createI18n(dictionaries, storageKey) {
  const saved = localStorage.getItem(storageKey);
  const i18n = {
    lang: LANGS.includes(saved) ? saved : browserLanguage(),

    // The string for `key` in the current language (English when it is missing there), with each
    // {name} replaced by values[name].
    t(key, values) {
      let text = (dictionaries[i18n.lang] && dictionaries[i18n.lang][key]) ?? dictionaries.en[key] ?? key;
      if (values && typeof text === "string") {
        for (const [name, value] of Object.entries(values)) text = text.split(`{${name}}`).join(String(value));
      }
      return text;
    },

    toggle() {
      i18n.lang = i18n.lang === "en" ? "zh" : "en";
      localStorage.setItem(storageKey, i18n.lang);
      return i18n.lang;
    },

    // Translates the static page: data-i18n (text), data-i18n-placeholder, data-i18n-label (aria-label).
    apply(root = document) {
      document.documentElement.lang = HTML_LANG[i18n.lang];
      for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = i18n.t(node.dataset.i18n);
      for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = i18n.t(node.dataset.i18nPlaceholder);
      for (const node of root.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", i18n.t(node.dataset.i18nLabel));
    },
  };
  return i18n;
}
