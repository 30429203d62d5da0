"""Backward, step by step, as one self-contained HTML page: `kit explain NN --steps` writes it.

The page holds everything it shows (no network: its Content-Security-Policy allows no source at
all, and it names none); the steps travel as JSON inside the page, with every `<` escaped, and the
script writes them with textContent only, so no name or number is ever read as HTML. Buttons and
the arrow keys step through the calls; `?step=N` opens it at step N (by pressing Next N times, as
a reader would: the kit's tests use it).
"""

import html
import json

from checks import numerics
from kit.learner.explain_blame import first_wrong, local_form

CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"

STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 60em; }
table { border-collapse: collapse; font-family: monospace; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
td:first-child, td:nth-child(2) { text-align: left; }
tr.changed td { background: #fff3b0; }
tr.wrong td.grad { color: #b00; font-weight: bold; }
tr.culprit td:first-child { outline: 2px solid #b00; }
#at { font-weight: bold; }
"""

SCRIPT = """
const data = JSON.parse(document.getElementById("steps").textContent);
let at = 0;
function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
}
function fmt(x) { return typeof x === "number" ? String(+x.toPrecision(6)) : String(x); }
function show() {
  const step = at === 0 ? null : data.steps[at - 1];
  const grads = step ? step.after : data.initial;
  const before = step ? step.before : data.initial;
  document.getElementById("at").textContent = step
    ? "step " + at + " of " + data.steps.length + ": " + step.call + "._backward (" + step.what + ")"
    : "step 0 of " + data.steps.length + ": before backward";
  const body = document.getElementById("nodes");
  body.replaceChildren();
  data.names.forEach((name, i) => {
    const row = document.createElement("tr");
    const changed = grads[i] !== before[i];
    const last = at === data.steps.length;
    row.className = [changed ? "changed" : "", last && data.wrong.includes(name) ? "wrong" : "",
                     name === data.culprit ? "culprit" : ""].filter(Boolean).join(" ");
    cell(row, name); cell(row, data.ops[i]); cell(row, fmt(data.data[i]));
    cell(row, fmt(grads[i]), "grad"); cell(row, fmt(data.truth[i]));
    body.appendChild(row);
  });
  document.getElementById("prev").disabled = at === 0;
  document.getElementById("next").disabled = at === data.steps.length;
}
function go(to) { at = Math.max(0, Math.min(data.steps.length, to)); show(); }
document.getElementById("prev").addEventListener("click", () => go(at - 1));
document.getElementById("next").addEventListener("click", () => go(at + 1));
document.addEventListener("keydown", (e) => {
  if (e.key === "ArrowRight" || e.key === "ArrowDown") go(at + 1);
  if (e.key === "ArrowLeft" || e.key === "ArrowUp") go(at - 1);
});
show();
const wanted = parseInt(new URLSearchParams(location.search).get("step") || "0", 10);
for (let k = 0; k < wanted; k++) document.getElementById("next").click();
"""


def shown(x):
    """A number JSON can carry: inf and nan (which JSON.parse refuses) as text."""
    return x if not isinstance(x, float) or x == x and abs(x) != float("inf") else str(x)


def row(values):
    return [shown(v) for v in values]


def steps_data(result):
    """The page's data: the nodes, their true grads, and each step's grads before and after."""
    graph, got = result["graph"], result["got"]
    names = [n for n, *_ in graph]
    ops = {n: op for n, op, *_ in graph}
    wrong = [n for n in names if not numerics.close(got["grad"].get(n), result["grads"][n], 1e-7)]
    return {
        "names": names,
        "ops": [numerics.SYMBOL.get(ops[n], "" if ops[n] == "leaf" else ops[n]) for n in names],
        "data": row(got["data"].get(n) for n in names),
        "truth": row(result["grads"][n] for n in names),
        "initial": row(got["initial"].get(n) for n in names),
        "wrong": wrong,
        "culprit": (result["blame"] or {}).get("node"),
        "steps": [
            {
                "call": name,
                "what": local_form(graph, name),
                "before": row(before),
                "after": row(before if after is None else after),  # None: the call raised
            }
            for name, before, after in got["steps"] or []
        ],
    }


def built_with(result):
    """What the graph was built with, as the check ran it: "your Value", "your Value and the kit's + and *",
    or "the kit's engine.py" (checks/base/)."""
    on = result.get("on")
    if not on:
        return "your Value"
    return f"your Value and {on}" if result.get("own_value", True) else on


def page(result):
    """The whole page, as text."""
    ex = result["check"]
    data = (
        json.dumps(steps_data(result), allow_nan=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    said = first_wrong(result["blame"]) or "Every node's data and grad is right here."
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>check-{html.escape(ex)}: backward, step by step</title>
<style>{STYLE}</style>
</head>
<body>
<h1>check-{html.escape(ex)}: backward, step by step</h1>
<p>The graph {html.escape(numerics.expression(result["graph"]))}, built with {html.escape(built_with(result))},
from the test &ldquo;{html.escape(result["test"])}&rdquo;. Each step is one <code>_backward</code> call, in the order
it ran; the grads it changed are marked. After the last step, grads that differ from the true ones are red.</p>
<p>{html.escape(said)}</p>
<p><button id="prev" type="button">&larr; Previous</button>
<button id="next" type="button">Next &rarr;</button> <span id="at"></span></p>
<table>
<thead><tr><th>node</th><th>op</th><th>data</th><th>grad</th><th>true grad</th></tr></thead>
<tbody id="nodes"></tbody>
</table>
<script type="application/json" id="steps">{data}</script>
<script>{SCRIPT}</script>
</body>
</html>
"""
