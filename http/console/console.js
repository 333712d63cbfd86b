// The audit console: reads an account through ledgerd's admin API with the key the operator
// typed (kept in this closure only, never stored), and shows its balance now and at an
// instant, its available credits over time (from its credit history), its events with
// versions and hashes, the verification of its stream and the newest digest.
"use strict";

(function () {
  const EVENTS_PAGE = 500;
  const EVENTS_MAX = 2000;    // shown at most; the note says when there are more
  const HISTORY_PAGE = 200;
  const HISTORY_MAX = 1000;   // chart points at most
  const SVG_NS = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  let apiKey = "";

  function setStatus(text, isError) {
    $("status").textContent = text;
    $("status").className = isError ? "error" : "";
  }

  async function api(path) {
    const response = await fetch(path, {
      headers: { Authorization: "Bearer " + apiKey },
      cache: "no-store",
    });
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    return { status: response.status, body: body };
  }

  function accountPath(account, suffix) {
    return "/api/v1/admin/accounts/" + encodeURIComponent(account) + suffix;
  }

  function describeBalance(balance) {
    return balance.credits_available + " available, " + balance.credits_reserved +
      " reserved (plan " + balance.plan + ", version " + balance.version + ")";
  }

  async function loadEvents(account) {
    const events = [];
    let after = 0;
    while (events.length < EVENTS_MAX) {
      const page = await api(accountPath(account, "/events?limit=" + EVENTS_PAGE +
        "&after_version=" + after));
      if (page.status !== 200) throw new Error("events: HTTP " + page.status);
      events.push(...page.body.events);
      if (page.body.next_after_version === null) return { events: events, more: false };
      after = page.body.next_after_version;
    }
    return { events: events, more: true };
  }

  async function loadHistory(account) {
    const entries = [];
    let before = null;
    while (entries.length < HISTORY_MAX) {
      const query = "?limit=" + HISTORY_PAGE + (before === null ? "" : "&before=" + before);
      const page = await api(accountPath(account, "/history" + query));
      if (page.status !== 200) throw new Error("history: HTTP " + page.status);
      entries.push(...page.body.entries);
      if (page.body.next_before === null) break;
      before = page.body.next_before;
    }
    return entries.reverse();  // oldest first
  }

  function svg(name, attributes) {
    const element = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    return element;
  }

  function drawChart(entries) {
    const chart = $("chart");
    while (chart.firstChild) chart.removeChild(chart.firstChild);
    const width = 640, height = 220, left = 50, right = 10, top = 10, bottom = 30;
    chart.appendChild(svg("line", { class: "axis", x1: left, y1: height - bottom,
      x2: width - right, y2: height - bottom }));
    chart.appendChild(svg("line", { class: "axis", x1: left, y1: top, x2: left,
      y2: height - bottom }));
    if (entries.length === 0) {
      $("chart-note").textContent = "No credit entries.";
      chart.dataset.points = "0";
      return;
    }
    const times = entries.map((e) => Date.parse(e.at));
    const values = entries.map((e) => e.balance_after);
    const tMin = Math.min(...times), tMax = Math.max(...times);
    const vMax = Math.max(1, ...values);
    const x = (t) => left + (tMax === tMin ? 0.5 : (t - tMin) / (tMax - tMin)) *
      (width - left - right);
    const y = (v) => height - bottom - (v / vMax) * (height - top - bottom);
    // A step line: the balance holds until the next entry.
    const points = [];
    for (let i = 0; i < entries.length; ++i) {
      if (i > 0) points.push(x(times[i]).toFixed(1) + "," + y(values[i - 1]).toFixed(1));
      points.push(x(times[i]).toFixed(1) + "," + y(values[i]).toFixed(1));
    }
    chart.appendChild(svg("polyline", { points: points.join(" ") }));
    const maxLabel = svg("text", { x: 4, y: top + 8 });
    maxLabel.textContent = String(vMax);
    chart.appendChild(maxLabel);
    const zeroLabel = svg("text", { x: 4, y: height - bottom });
    zeroLabel.textContent = "0";
    chart.appendChild(zeroLabel);
    const from = svg("text", { x: left, y: height - 8 });
    from.textContent = new Date(tMin).toISOString().slice(0, 19) + "Z";
    chart.appendChild(from);
    chart.dataset.points = String(entries.length);
    chart.dataset.last = String(values[values.length - 1]);
    $("chart-note").textContent = entries.length + " entries; the last leaves " +
      values[values.length - 1] + " credits available.";
  }

  function showEvents(result) {
    const body = $("events").tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    for (const event of result.events) {
      const row = body.insertRow();
      const cells = [
        String(event.stream_version),
        event.recorded_at,
        event.type,
        JSON.stringify(event.payload),
        event.hash.slice(0, 16) + "\u2026",
      ];
      cells.forEach((text, i) => {
        const cell = row.insertCell();
        cell.textContent = text;
        if (i === 3) cell.className = "payload";
        if (i === 4) {
          cell.className = "hash";
          cell.title = event.hash;
        }
      });
    }
    $("events-note").textContent = result.events.length + " events" +
      (result.more ? " (the first " + EVENTS_MAX + "; page the admin API for the rest)" : "");
  }

  function showVerify(verify) {
    const target = $("verify-result");
    if (verify.status !== 200) {
      target.textContent = "not verified: HTTP " + verify.status;
      target.className = "broken";
      return;
    }
    if (verify.body.clean) {
      target.textContent = "clean: " + verify.body.events_checked +
        " events, hash chain, fold and projections agree";
      target.className = "clean";
    } else {
      target.textContent = "NOT clean at version " + verify.body.stream_version + ": " +
        verify.body.problem;
      target.className = "broken";
    }
  }

  function showDigest(digest) {
    const target = $("digest");
    if (digest.status === 404) {
      target.textContent = "no digest written yet (ledgerd --digest_dir)";
      return;
    }
    if (digest.status !== 200) {
      target.textContent = "unavailable: HTTP " + digest.status;
      return;
    }
    const d = digest.body.digest;
    target.textContent = "position " + d.position + ", " + d.count + " events, root " +
      d.root.slice(0, 16) + "\u2026 (" + d.algorithm + "), " + d.created_at + " \u2014 " +
      digest.body.file;
  }

  async function lookUp(event) {
    event.preventDefault();
    apiKey = $("api-key").value;
    const account = $("account").value.trim();
    const asOf = $("as-of").value;
    $("result").hidden = true;
    setStatus("Loading " + account + "\u2026", false);
    try {
      const now = await api(accountPath(account, "/balance"));
      if (now.status === 401 || now.status === 403) {
        setStatus("The key was refused (HTTP " + now.status + ").", true);
        return;
      }
      if (now.status === 404) {
        setStatus("No account " + account + ".", true);
        return;
      }
      if (now.status !== 200) {
        setStatus("The balance could not be read (HTTP " + now.status + ").", true);
        return;
      }
      $("balance-now").textContent = describeBalance(now.body);
      if (asOf) {
        const instant = (asOf.length === 16 ? asOf + ":00" : asOf) + "Z";
        const then = await api(accountPath(account, "/balance?as_of=" +
          encodeURIComponent(instant)));
        $("as-of-label").textContent = instant;
        $("balance-as-of").textContent = then.status === 200 ? describeBalance(then.body)
          : then.status === 404 ? "the account did not exist yet" : "HTTP " + then.status;
      } else {
        $("as-of-label").textContent = "(no instant chosen)";
        $("balance-as-of").textContent = "";
      }
      const [events, history, verify, digest] = await Promise.all([
        loadEvents(account), loadHistory(account),
        api(accountPath(account, "/verify")), api("/api/v1/admin/digests/latest"),
      ]);
      showEvents(events);
      drawChart(history);
      showVerify(verify);
      showDigest(digest);
      $("result").hidden = false;
      setStatus("Account " + account + " as of " + new Date().toISOString() + ".", false);
    } catch (error) {
      setStatus("Failed: " + error.message, true);
    }
  }

  $("lookup").addEventListener("submit", lookUp);
})();
