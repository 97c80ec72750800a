// The web chat page of chatd.  One WebSocket text message is one chat
// line each way.  Lines from the room are inserted as text (textContent),
// never as HTML.  The room's wording is the default plugins' (plugins/):
// "[name]: text", notices starting "* ", errors starting "! "; the user
// list follows the join, leave and rename notices and "* online (N): ...".
"use strict";

(function () {
	const $ = (id) => document.getElementById(id);
	const messages = $("messages"), users = $("users"), count = $("count");
	const state = $("state"), line = $("line"), newname = $("newname");
	const MAX_LINES = 500;		// messages kept on the page
	const BACKOFF_MIN = 500, BACKOFF_MAX = 15000;	// ms between tries

	const query = new URLSearchParams(location.search);
	const meta = document.querySelector('meta[name="chatd-ws-path"]');
	const path = query.get("ws") || (meta && meta.content) || "/ws";
	const url = (location.protocol === "https:" ? "wss://" : "ws://") +
	    location.host + path;

	let ws = null, me = null, backoff = BACKOFF_MIN, retry = null;
	let online = [];
	const history = [];
	let hpos = 0, draft = "";

	function setState(cls, text) {
		state.className = "state " + cls;
		state.textContent = text;
		state.dataset.state = cls;
	}

	// One entry of the message list; parts are [class, text] pairs.
	function add(cls, parts) {
		const li = document.createElement("li");
		li.className = cls;
		for (const [pcls, text] of parts) {
			const span = document.createElement("span");
			span.className = pcls;
			span.textContent = text;
			li.appendChild(span);
		}
		const atEnd = messages.scrollTop + messages.clientHeight >=
		    messages.scrollHeight - 4;
		messages.appendChild(li);
		while (messages.childElementCount > MAX_LINES)
			messages.firstElementChild.remove();
		if (atEnd)
			messages.scrollTop = messages.scrollHeight;
	}

	function drawUsers() {
		users.replaceChildren();
		for (const name of online) {
			const li = document.createElement("li");
			li.textContent = name;
			if (name === me)
				li.className = "me";
			users.appendChild(li);
		}
		count.textContent = String(online.length);
	}

	function rename(from, to) {
		const i = online.indexOf(from);
		if (i >= 0)
			online[i] = to;
		if (from === me)
			me = to;
		drawUsers();
	}

	function gone(name) {
		online = online.filter((n) => n !== name);
		drawUsers();
	}

	// What a notice says about who is online.
	function notice(text) {
		let m;
		if ((m = /^\* welcome (.+)$/.exec(text))) {
			me = m[1];
			newname.placeholder = me;
		} else if ((m = /^\* online \(\d+\): (.*)$/.exec(text))) {
			online = m[1] === "" ? [] : m[1].split(", ");
			drawUsers();
		} else if ((m = /^\* you are now (.+)$/.exec(text))) {
			rename(me, m[1]);
			newname.placeholder = me;
		} else if ((m = /^\* (.+) is now (.+)$/.exec(text))) {
			rename(m[1], m[2]);
		} else if ((m = /^\* (.+) joined$/.exec(text))) {
			if (!online.includes(m[1]))
				online.push(m[1]);
			drawUsers();
		} else if ((m = /^\* (.+) (left|timed out|dropped)\b/.exec(text))) {
			gone(m[1]);
		}
	}

	function receive(text) {
		const m = /^\[([^\]]+)\]: (.*)$/.exec(text);
		if (m) {
			add(m[1] === me ? "chat me" : "chat",
			    [["name", m[1]], ["text", m[2]]]);
			return;
		}
		if (text.startsWith("* ")) {
			add("notice", [["text", text]]);
			notice(text);
		} else if (text.startsWith("! "))
			add("error", [["text", text]]);
		else
			add("plain", [["text", text]]);
	}

	function connect() {
		retry = null;
		setState("connecting", "connecting…");
		ws = new WebSocket(url);
		ws.onopen = () => {
			backoff = BACKOFF_MIN;
			setState("online", "online");
		};
		ws.onmessage = (ev) => {
			if (typeof ev.data === "string")
				receive(ev.data);
		};
		ws.onclose = (ev) => {
			ws = null;
			online = [];
			drawUsers();
			const secs = Math.round(backoff / 100) / 10;
			setState("offline", "offline; retrying in " + secs + " s");
			if (ev.code !== 1000 && ev.code !== 1005)
				add("error", [["text", "! connection lost (" +
				    ev.code + ")"]]);
			retry = setTimeout(connect, backoff);
			backoff = Math.min(backoff * 2, BACKOFF_MAX);
		};
	}

	function send(text) {
		if (ws === null || ws.readyState !== WebSocket.OPEN)
			return false;
		ws.send(text);
		return true;
	}

	$("send").addEventListener("submit", (ev) => {
		ev.preventDefault();
		const text = line.value;
		if (text.trim() === "" || !send(text))
			return;
		if (history[history.length - 1] !== text)
			history.push(text);
		if (history.length > 100)
			history.shift();
		hpos = history.length;
		line.value = "";
	});

	// Up and down walk the lines sent; the line being typed is kept.
	line.addEventListener("keydown", (ev) => {
		if (ev.key !== "ArrowUp" && ev.key !== "ArrowDown")
			return;
		if (hpos === history.length)
			draft = line.value;
		hpos += ev.key === "ArrowUp" ? -1 : 1;
		hpos = Math.max(0, Math.min(history.length, hpos));
		line.value = hpos === history.length ? draft : history[hpos];
		ev.preventDefault();
	});

	$("rename").addEventListener("submit", (ev) => {
		ev.preventDefault();
		const name = newname.value.trim();
		if (name !== "" && send("rename|" + name))
			newname.value = "";
	});

	// A page coming back from the background retries at once.
	document.addEventListener("visibilitychange", () => {
		if (!document.hidden && retry !== null) {
			clearTimeout(retry);
			connect();
		}
	});

	drawUsers();
	connect();
})();
