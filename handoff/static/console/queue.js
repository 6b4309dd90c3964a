// The queue (live), the supervisor's view of the agents and SLA breaches, and the operations on an
// entry: claim, take the next one, mark a callback done, assign to an agent.
import { byId as $, el } from "/static/shared/dom.js";

export function createQueue(app) {
  const { state, t } = app;

  // With queue deltas live, the queue comes by itself: only the agents' loads are re-read (at most once a
  // second); without them (socket down, or a service that sends `queue_changed`), the whole queue.
  function scheduleRefresh() {
    if (state.deltas) { scheduleAgents(); return; }
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refresh, 150);
  }

  function scheduleAgents() {
    clearTimeout(state.agentsTimer);
    state.agentsTimer = setTimeout(() => { if (state.me) loadAgents().catch(() => {}); }, 1000);
  }

  async function refresh() {
    if (!state.me) return;
    try {
      const data = await app.api("GET", "/api/agent/queue");
      state.queue = data.entries;
      state.queueAt = Date.now();
      app.syncHeld();
      await loadAgents();
      renderQueue();
    } catch (error) {
      if (error.status !== 401) app.toast(app.errorText(error), "error");
    }
  }

  async function loadAgents() {
    if (!state.me) return;
    if (state.me.role !== "agent") {
      state.agents = (await app.api("GET", "/api/agent/supervisor/agents")).agents;
      renderAgents();
    } else {
      state.agents = (await app.api("GET", "/api/agent/colleagues")).agents;
    }
    app.fillTransferTargets();
  }

  // A `queue_delta` frame (the socket asked for them): patch the list instead of reading the whole queue;
  // the agents' loads are re-read at most once a second.
  function applyQueueDelta(delta) {
    const seenAt = Date.now();
    const known = new Map(delta.full ? [] : state.queue.map((entry) => [entry.id, entry]));
    for (const entry of delta.upserts) known.set(entry.id, { ...entry, seenAt });
    state.queue = delta.order.map((id) => known.get(id)).filter(Boolean);
    state.deltas = true;
    app.syncHeld();
    renderQueue();
    scheduleAgents();
  }

  // Runs the operation, then shows its error (if any); the queue follows by its delta (or is re-read).
  async function act(fn) {
    try { const result = await fn(); app.showError("chat-error", null); scheduleRefresh(); return result; } catch (error) {
      app.toast(app.errorText(error), "error"); app.showError("chat-error", error); return null;
    }
  }

  async function claim(entryId) {
    const entry = await act(() => app.api("POST", `/api/agent/queue/${entryId}/claim`));
    if (entry) await app.openChat(entry.conversation_id);
  }

  function waited(entry) {
    const seconds = entry.waiting_s + Math.floor((Date.now() - (entry.seenAt || state.queueAt)) / 1000);
    const m = Math.floor(seconds / 60);
    return `${m}:${String(seconds % 60).padStart(2, "0")}`;
  }

  function entryActions(entry, mine) {
    const actions = [];
    if (entry.status === "waiting") {
      actions.push(el("button", { type: "button", class: "primary claim", text: t("claim"),
        onclick: (e) => { e.stopPropagation(); claim(entry.id); } }));
    }
    if (entry.status === "callback") {
      actions.push(el("button", { type: "button", class: "callback-open", text: t("cb_open"),
        onclick: (e) => { e.stopPropagation(); app.openChat(entry.conversation_id); } }));
    }
    if (state.me && state.me.role !== "agent" && entry.status !== "callback" && !mine) {
      const select = el("select", { class: "assign-to", "aria-label": t("assign") },
        [el("option", { value: "", text: t("assign") }),
          ...state.agents.filter((a) => a.role !== "admin").map((a) => el("option", { value: a.id, text: t("name_role", { name: a.display_name, role: a.load }) }))]);
      select.addEventListener("click", (e) => e.stopPropagation());
      select.addEventListener("change", async (e) => {
        if (e.target.value) await act(() => app.api("POST", `/api/agent/queue/${entry.id}/assign`, { agent_id: Number(e.target.value) }));
      });
      actions.push(select);
    }
    return actions;
  }

  function entryItem(entry) {
    const mine = entry.assigned_agent && state.me && entry.assigned_agent.id === state.me.id;
    const meta = [
      el("span", { class: `badge priority-${entry.priority}`, text: t(`priority_${entry.priority}`) }),
      el("span", { class: "badge", text: entry.lang }),
      el("span", { class: "badge", text: t(entry.status) }),
      el("span", { class: "wait", "data-wait": "", text: waited(entry) }),
    ];
    if (entry.sla !== "ok") meta.push(el("span", { class: `badge sla-${entry.sla}`, text: t(entry.sla === "breached" ? "sla_breach" : "sla_warning") }));
    if (entry.assigned_agent) meta.push(el("span", { class: "held", text: `${t("held_by")} ${mine ? t("you") : entry.assigned_agent.display_name}` }));
    const body = [el("div", { class: "entry-meta" }, meta), el("div", { class: "entry-reason", text: app.reason(entry.reason) || entry.reason }),
      el("div", { class: "entry-summary", title: entry.summary || "", text: entry.summary || "" })];
    if (entry.callback) {
      body.push(el("div", { class: "entry-callback",
        text: `${entry.callback.reference || ""} · ${t("label", { label: t("contact") })}${entry.callback.contact} · ${t("label", { label: t("preferred_time") })}${entry.callback.preferred_time || "-"}` }));
    }
    body.push(el("div", { class: "entry-actions" }, entryActions(entry, mine)));
    return el("li", { class: `entry ${mine ? "mine" : ""}`, "data-entry-id": entry.id, "data-conversation-id": entry.conversation_id,
      onclick: () => app.openChat(entry.conversation_id) }, body);
  }

  function renderQueue() {
    const list = $("queue-list");
    if (!list || !state.me) return;
    // The chats this agent holds are listed under "My chats" (with unread counts), not here.
    const others = state.queue.filter((e) => !state.held.has(e.conversation_id));
    list.replaceChildren(...others.map(entryItem));
    $("queue-empty").hidden = others.length > 0;
    app.renderMyChats();
    $("breach-list").replaceChildren(...state.queue.filter((e) => e.sla !== "ok").map(entryItem));
  }

  function renderAgents() {
    $("agents-list").replaceChildren(...state.agents.map((a) => el("li", { class: `agent status-${a.status}` }, [
      el("span", { class: "dot" }), el("span", { text: t("name_role", { name: a.display_name, role: t(`role_${a.role}`) }) }),
      el("span", { class: "muted", text: ` ${t(`status_${a.status}`)} · ${t("load")} ${a.load}/${a.max_concurrent} · ${a.languages.join(",")}` }),
    ])));
  }

  function wireQueue() {
    $("take-next").addEventListener("click", async () => {
      const result = await act(() => app.api("POST", "/api/agent/queue/next"));
      if (result && result.entry) await app.openChat(result.entry.conversation_id);
      else if (result) app.toast(t("nothing_waiting"));
    });
    // The waiting times tick between refreshes.
    setInterval(() => { for (const node of document.querySelectorAll("#queue-list .wait")) {
      const entry = state.queue.find((e) => String(e.id) === node.closest("li").dataset.entryId);
      if (entry) node.textContent = waited(entry);
    } }, 1000);
  }

  return { scheduleRefresh, refresh, loadAgents, applyQueueDelta, act, claim, renderQueue, wireQueue };
}
