"""Self-check quizzes: instant feedback in JupyterLab, a readable page everywhere else.

A quiz is an ipywidgets box of radio buttons. Choosing an option shows at once
whether it is right and why. Where no widget can run (a forge's notebook
viewer, a PDF, nbval), the same quiz appears as plain HTML, with the answers
folded away under "Show answers".
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import anywidget
import ipywidgets as widgets
import traitlets

from .clients import load
from .display import text_alternative
from .inside import check_base, check_raises, trace_request
from .kinds import MODES, STREAM_KINDS, normalise
from .registry import serve
from .timeline import compare
from .timeouts import TookTooLong, within


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; ``answer`` is the index of the right option."""

    prompt: str
    options: tuple
    answer: int
    why: str = ""
    hint: str = ""  #: shown after a wrong answer: where in the notebook to look

    def __post_init__(self):
        if len(self.options) < 2:
            raise ValueError(f"a question needs at least two options: {self.prompt!r}")
        if not 0 <= self.answer < len(self.options):
            raise ValueError(f"answer must index one of the {len(self.options)} options: {self.prompt!r}")


def _feedback(question: Question, choice: int) -> str:
    if choice == question.answer:
        return f"<b style='color:#1a7f37'>✔ Right.</b> {html.escape(question.why)}"
    hint = html.escape(question.hint) if question.hint else "Try another option."
    return f"<b style='color:#b3261e'>✘ Not quite.</b> {hint}"


class Quiz(widgets.VBox):
    """A list of questions with instant feedback. Build it with ``quiz()``."""

    def __init__(self, questions, title="Self-check"):
        self.questions = tuple(questions)
        self.title = title
        self._radios, self._notes = [], []
        children = [widgets.HTML(f"<h3>{html.escape(title)}</h3>")]
        for number, question in enumerate(self.questions, 1):
            radio = widgets.RadioButtons(
                options=[(text, i) for i, text in enumerate(question.options)],
                value=None,
                layout=widgets.Layout(width="auto"),
            )
            note = widgets.HTML()
            radio.observe(self._answered, names="value")
            self._radios.append(radio)
            self._notes.append(note)
            children += [widgets.HTML(f"<b>{number}. {html.escape(question.prompt)}</b>"), radio, note]
        self._score = widgets.HTML()
        children.append(self._score)
        super().__init__(children)

    def _answered(self, change):
        index = self._radios.index(change["owner"])
        if change["new"] is not None:
            self._notes[index].value = _feedback(self.questions[index], change["new"])
        right = sum(r.value == q.answer for r, q in zip(self._radios, self.questions))
        done = sum(r.value is not None for r in self._radios)
        self._score.value = f"<i>{right} of {len(self.questions)} right ({done} answered)</i>"

    def choose(self, question: int, option: int) -> str:
        """Answer ``question`` (0-based) as a learner would; return the feedback shown."""
        self._radios[question].value = option
        return self._notes[question].value

    @property
    def score(self) -> int:
        return sum(r.value == q.answer for r, q in zip(self._radios, self.questions))

    def _static_html(self) -> str:
        parts = [f"<h3>{html.escape(self.title)}</h3>", "<ol>"]
        for question in self.questions:
            options = "".join(f"<li>{html.escape(o)}</li>" for o in question.options)
            parts.append(f"<li><b>{html.escape(question.prompt)}</b><ul>{options}</ul></li>")
        parts.append("</ol><details><summary>Show answers</summary><ol>")
        for question in self.questions:
            parts.append(f"<li>{html.escape(question.options[question.answer])}: {html.escape(question.why)}</li>")
        parts.append("</ol></details><p><i>Run this notebook in JupyterLab to answer with instant feedback.</i></p>")
        return "".join(parts)

    def _static_text(self) -> str:
        lines = [self.title]
        for number, question in enumerate(self.questions, 1):
            lines.append(f"{number}. {question.prompt}")
            lines += [f"   ( ) {o}" for o in question.options]
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = self._static_text()
        data["text/html"] = self._static_html()
        return data


def quiz(*questions, title: str = "Self-check") -> Quiz:
    """Build a quiz from ``(prompt, [options], answer_index, why, hint)`` tuples.

    ``why`` is shown after a right answer; ``hint`` (optional) after a wrong one,
    and should say where in the notebook to look, not give the answer away.
    """
    if not questions:
        raise ValueError("quiz needs at least one question: (prompt, [options], answer_index, why)")
    built = []
    for q in questions:
        if isinstance(q, Question):
            built.append(q)
        elif isinstance(q, (tuple, list)) and len(q) in (3, 4, 5):
            built.append(Question(q[0], tuple(q[1]), *q[2:]))
        else:
            raise TypeError(f"each question is (prompt, [options], answer_index, why[, hint]), got {q!r}")
    return Quiz(built, title=title)


# ipywidgets' sliders draw a <div role="slider"> that nothing names: a screen reader says
# "slider, 8" without saying what it sets (axe: aria-input-field-name; ipywidgets 8.1 has
# no way to label it). This one is the browser's own <input type="range">, named by a
# <label for=...>: "clients, slider, 8". Arrow keys, Home and End move it, as before.
_SLIDER_JS = """
let count = 0;
function render({ model, el }) {
  const id = `socklab-slider-${Date.now().toString(36)}-${count++}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.className = "socklab-slider-label";
  const input = document.createElement("input");
  input.type = "range";
  input.id = id;
  const readout = document.createElement("span");
  readout.setAttribute("aria-hidden", "true");  // the slider itself tells its value
  readout.className = "socklab-slider-readout";
  const show = () => {
    label.textContent = model.get("description");
    input.min = model.get("min");
    input.max = model.get("max");
    input.step = model.get("step");
    input.value = model.get("value");
    readout.textContent = Number(model.get("value")).toFixed(model.get("decimals"));
  };
  // JupyterLab's notebook takes the arrow keys (and others) for its own shortcuts and
  // cancels them: keep the keys a slider answers to for the slider
  input.addEventListener("keydown", (event) => event.stopPropagation());
  input.addEventListener("input", () => {
    readout.textContent = Number(input.value).toFixed(model.get("decimals"));
  });
  input.addEventListener("change", () => {
    model.set("value", Number(input.value));
    model.save_changes();
  });
  for (const name of ["description", "min", "max", "step", "value", "decimals"]) {
    model.on(`change:${name}`, show);
  }
  show();
  el.classList.add("socklab-slider");
  el.append(label, input, readout);
}
export default { render };
"""
_SLIDER_CSS = """
.socklab-slider { display: flex; align-items: center; gap: 8px; margin: 2px 0; }
.socklab-slider-label { min-width: 5em; }
.socklab-slider input[type="range"] { width: 220px; }
.socklab-slider-readout { min-width: 3em; font-variant-numeric: tabular-nums; }
"""


class Slider(anywidget.AnyWidget):
    """A slider named by its label, for mouse, keyboard and screen reader alike.

    ``value`` moves within ``min`` to ``max`` by ``step``, and is an int when all
    four are ints. Set ``value`` from Python and the slider follows."""

    _esm = _SLIDER_JS
    _css = _SLIDER_CSS
    description = traitlets.Unicode("").tag(sync=True)
    min = traitlets.Float(0).tag(sync=True)
    max = traitlets.Float(100).tag(sync=True)
    step = traitlets.Float(1).tag(sync=True)
    # Any, not Int or Float: a number trait converts what the validator below decides
    # (traitlets' Int takes 1.0 as 1, Float takes 4 as 4.0) when the browser sets it
    value = traitlets.Any(0).tag(sync=True)
    decimals = traitlets.Int(0).tag(sync=True)  #: digits shown after the point

    def __init__(self, value, min, max, step, description, decimals=None):
        if not (min < max and step > 0):
            raise ValueError(f"a slider needs min < max and step > 0, got ({min}, {max}, {step})")
        self._integer = all(isinstance(v, int) and not isinstance(v, bool) for v in (value, min, max, step))
        if decimals is None:
            decimals = 0 if self._integer else _decimals(step)
        super().__init__(min=min, max=max, step=step, description=description, decimals=decimals)
        self.value = value  # after min, max and step: validated (kept an int, or a float) against them

    @traitlets.validate("value")
    def _within(self, proposal):
        value = proposal["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise traitlets.TraitError(f"{self.description} takes a number, got {value!r}")
        value = min(max(value, self.min), self.max)  # as ipywidgets' sliders clamp
        # the browser may send 0.15000000000000002 for 0.15: drop the float noise, not the digits
        return int(round(value)) if self._integer else round(float(value), 10)


def _decimals(step) -> int:
    """Digits after the point that ``step`` needs: 0.05 -> 2, 0.5 -> 1, 1 -> 0."""
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


class Explorer(widgets.VBox):
    """Steer a live experiment: clients, work, sleeping or computing, which servers.

    Each press of *Run* starts real servers (one per chosen mode), sends the
    clients at them all at once, stops the servers, and redraws the timelines
    side by side on one time axis. Built with ``explorer()``.
    """

    def __init__(self, clients=8, work=0.2, cpu=False, modes=("serial", "threading", "forking")):

        self.clients = Slider(value=clients, min=1, max=16, step=1, description="clients")
        self.work = Slider(value=work, min=0.05, max=0.5, step=0.05, description="work (s)", decimals=2)
        self.kind_of_work = widgets.ToggleButtons(options=[("sleeping (I/O)", False), ("computing (CPU)", True)],
                                                  value=bool(cpu), description="work is")
        self.modes = {mode: widgets.Checkbox(value=mode in modes, description=mode, indent=False,
                                             layout=widgets.Layout(width="110px"))
                      for mode in MODES}
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.status = widgets.HTML()
        self.image = widgets.HTML()  # an <img> with alt text: widgets.Image has no alt
        self.results = {}
        self._png = b""
        self._alt = ""
        self.run_button.on_click(lambda _: self.run())
        super().__init__([
            widgets.HTML("<b>Serial versus concurrent: choose, then press Run</b>"),
            widgets.HBox([self.clients, self.work]),
            self.kind_of_work,
            widgets.HBox([widgets.Label("servers:"), *self.modes.values()]),
            widgets.HBox([self.run_button, self.status]),
            self.image,
        ])

    def chosen_modes(self) -> list:
        return [mode for mode, box in self.modes.items() if box.value]

    def run(self):
        """Run the experiment as set now; return ``{mode: LoadResult}``."""
        import io


        modes = self.chosen_modes()
        if not modes:
            self.status.value = "<span style='color:#b3261e'>Tick at least one server.</span>"
            return {}
        clients, work_s, cpu = self.clients.value, round(self.work.value, 2), self.kind_of_work.value
        self.run_button.disabled = True
        self.status.value = f"<i>running {len(modes)} live server(s) with {clients} clients...</i>"
        results = {}
        try:
            for mode in modes:
                with serve(mode=mode, work=work_s, cpu=cpu, name=f"explorer-{mode}") as server:
                    results[mode] = load(server, clients=clients, timeout=10 + clients * work_s * 3)
        finally:
            self.run_button.disabled = False
        what = "computing" if cpu else "sleeping"
        figure = compare(results, title=f"{clients} clients, {work_s:.2f} s of {what} each")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80)
        self._png = buffer.getvalue()
        self._alt = text_alternative(figure)  # what it shows in words: makespans, waits, how many at once
        self.image.value = self._img()
        self.results = results
        self.status.value = "makespans: " + ", ".join(f"{m} <b>{r.makespan:.2f} s</b>" for m, r in results.items())
        return results

    def _img(self) -> str:
        import base64

        return (f"<img src='data:image/png;base64,{base64.b64encode(self._png).decode()}' "
                f"alt='{html.escape(self._alt)}' style='max-width:900px'/>" if self._png else "")

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        summary = ", ".join(f"{m} {r.makespan:.2f} s" for m, r in self.results.items())
        data["text/plain"] = f"Explorer (last run: {summary or 'not run yet'})"
        data["text/html"] = (f"<p><b>Serial versus concurrent explorer</b>. Last run: {summary or 'none'}. "
                             f"Run this notebook in JupyterLab to move the sliders.</p>{self._img()}")
        return data


def explorer(clients: int = 8, work: float = 0.2, cpu: bool = False,
             modes=("serial", "threading", "forking"), run: bool = True) -> Explorer:
    """An interactive experiment: sliders for clients and work, sleeping or CPU
    work, and which servers to compare; it runs once at once (``run=False`` to wait)."""

    if not isinstance(clients, int) or isinstance(clients, bool) or not 1 <= clients <= 16:
        raise ValueError(f"clients must be an int from 1 to 16, got {clients!r}")
    if not isinstance(work, (int, float)) or isinstance(work, bool) or not 0.05 <= work <= 0.5:
        raise ValueError(f"work must be from 0.05 to 0.5 seconds, got {work!r}")
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ValueError(f"modes must be a non-empty list from {', '.join(MODES)}, got {list(modes)!r}")
    box = Explorer(clients, work, cpu, tuple(modes))
    if run:
        box.run()
    return box


class Lifecycle(widgets.VBox):
    """Send one request through a traced handler; see which steps ran.

    Choose the server kind, the handler's base class, and which step (if any)
    raises on purpose; press *Run*. Each run starts a real server, sends one
    request, stops the server, and shows the trace. Built with ``lifecycle()``.
    """

    def __init__(self, kind="tcp", base=None, raises=None):

        self.kind = widgets.ToggleButtons(options=["tcp", "udp", "unix", "unix-dgram"], value=kind,
                                          description="server")
        self.base = widgets.Dropdown(description="handler", value=check_base(base, kind),
                                     options=self._bases_for(kind), layout=widgets.Layout(width="340px"))
        self.raises = widgets.ToggleButtons(options=[("nothing", None), ("setup", "setup"), ("handle", "handle"),
                                                     ("finish", "finish")], value=raises, description="raises")
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.result = widgets.HTML()
        self.trace = None
        self.kind.observe(self._kind_changed, names="value")
        self.run_button.on_click(lambda _: self.run())
        super().__init__([
            widgets.HTML("<b>One request, traced: choose, then press Run</b>"),
            self.kind, self.base, self.raises, self.run_button, self.result,
        ])

    @staticmethod
    def _bases_for(kind):

        own = "StreamRequestHandler" if kind in STREAM_KINDS else "DatagramRequestHandler"
        return [own, "BaseRequestHandler"]

    def _kind_changed(self, change):
        self.base.options = self._bases_for(change["new"])
        self.base.value = self.base.options[0]

    def run(self):
        """Trace one request as set now; return the ``Trace``."""

        self.run_button.disabled = True
        self.result.value = "<i>running...</i>"
        try:
            self.trace = trace_request(self.kind.value, self.base.value, self.raises.value)
        except Exception as exc:  # shown, not raised: a widget callback has no cell to raise into
            self.result.value = f"<span style='color:#b3261e'>{html.escape(f'{type(exc).__name__}: {exc}')}</span>"
            return None
        finally:
            self.run_button.disabled = False
        self.result.value = self.trace._repr_html_()
        return self.trace

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = str(self.trace) if self.trace else "Lifecycle tracer (not run yet)"
        data["text/html"] = ("<p><b>One request, traced</b>. Last run below; run this notebook in JupyterLab "
                             "to choose the server, the handler and the failing step.</p>"
                             + (self.trace._repr_html_() if self.trace else ""))
        return data


def lifecycle(kind: str = "tcp", base=None, raises=None, run: bool = True) -> Lifecycle:
    """An interactive tracer of one request through setup, handle and finish;
    it runs once at once (``run=False`` to wait)."""

    kind = normalise(kind)
    if kind not in ("tcp", "udp", "unix", "unix-dgram"):
        raise ValueError(f"kind must be one of tcp, udp, unix, unix-dgram, got {kind!r}")
    base = check_base(base, kind)
    if base not in Lifecycle._bases_for(kind):
        raise ValueError(f"a {kind} server takes a {Lifecycle._bases_for(kind)[0]} or a BaseRequestHandler, "
                         f"not a {base}")
    box = Lifecycle(kind, base, check_raises(raises))
    if run:
        box.run()
    return box


class Experiment(widgets.VBox):
    """A live experiment with controls: change one and it runs again.

    ``run`` is an ordinary function written in the notebook, so the learner
    sees the socket code; each keyword argument becomes a control. What the
    function prints (or returns: text, a matplotlib figure, anything with an
    HTML view) is shown below the controls, and stays in the saved notebook
    as its static result. Built with ``experiment()``.
    """

    def __init__(self, run, controls: dict, title: str, timeout: float):
        self.function = run
        self.title = title
        self.timeout = timeout
        self.controls = controls
        self.settings = {}
        self.text = ""  # what the last run printed or returned, as text
        self._html = ""
        self.status = widgets.HTML()
        self.output = widgets.HTML()
        for control in controls.values():
            control.observe(lambda _change: self.update(), names="value")
        super().__init__([widgets.HTML(f"<b>{html.escape(title)}</b>"), *controls.values(), self.status,
                          self.output])

    def _call(self, settings):
        import contextlib
        import io

        printed = io.StringIO()
        name = f"{self.function.__name__}()"
        with contextlib.redirect_stdout(printed):
            try:
                result = within(self.timeout, lambda: self.function(**settings), what=name,
                                hint="bound every wait with a timeout (settimeout, or timeout=)")
            except TookTooLong as exc:
                raise TimeoutError(str(exc)) from None
        return printed.getvalue(), result

    def run(self):
        """Run the experiment with the controls as set now; return what the function returned."""
        import base64
        import io

        settings = {name: control.value for name, control in self.controls.items()}
        self.status.value = "<i>running...</i>"
        printed, result = self._call(settings)
        text, body = printed, f"<pre>{html.escape(printed, quote=False)}</pre>" if printed else ""  # quotes kept: the saved text reads as printed
        if hasattr(result, "savefig"):  # a matplotlib figure: drawn once, then closed
            import matplotlib.pyplot as plt

            buffer = io.BytesIO()
            result.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
            plt.close(result)
            titles = "; ".join(a.get_title() for a in result.axes if a.get_title())
            alt = text_alternative(result) or (f"Figure: {titles}" if titles else
                                               f"Figure drawn by {self.function.__name__}()")
            body += (f"<img src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}' "
                     f"alt='{html.escape(alt)}' style='max-width:900px'/>")
            text += f"[figure: {result.axes[0].get_title() if result.axes else 'no axes'}]\n"
        elif hasattr(result, "_repr_html_"):
            body += result._repr_html_()
            text += f"{result}\n"
        elif result is not None:
            body += f"<pre>{html.escape(str(result), quote=False)}</pre>"
            text += f"{result}\n"
        self.settings, self.text, self._html = settings, text, body
        self.output.value = body
        self.status.value = "<i>" + html.escape(self._describe()) + "</i>"
        return result

    def update(self):
        """Run again after a control moved; an error is shown in the widget (a callback has no cell to raise into)."""
        try:
            self.run()
        except BaseException as exc:  # noqa: BLE001 - shown to the learner, who can fix their function
            self.status.value = ("<span style='color:#b3261e'>"
                                 + html.escape(f"{type(exc).__name__}: {exc}".splitlines()[0]) + "</span>")

    def _describe(self) -> str:
        return "ran with " + ", ".join(f"{k}={v!r}" for k, v in self.settings.items()) if self.settings else "not run yet"

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = f"{self.title} ({self._describe()})\n{self.text}".rstrip("\n")
        data["text/html"] = (f"<p><b>{html.escape(self.title)}</b> ({html.escape(self._describe())}). "
                             "Run this notebook in JupyterLab to change the settings.</p>" + self._html)
        return data


def _control(name, spec, default):
    """A widget for one keyword: (min, max[, step]) a slider, a list of choices buttons, a bool a checkbox."""
    style = {"description_width": "initial"}
    if isinstance(spec, bool):
        return widgets.Checkbox(value=spec, description=name, style=style)
    if isinstance(spec, tuple) and len(spec) in (2, 3) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec):
        low, high = spec[0], spec[1]
        step = spec[2] if len(spec) == 3 else (1 if all(isinstance(v, int) for v in spec) else (high - low) / 20)
        if not low < high or step <= 0:
            raise ValueError(f"{name}=(min, max, step) needs min < max and step > 0, got {spec!r}")
        value = default if default is not None else low
        if not low <= value <= high:
            raise ValueError(f"the default {name}={value!r} must lie within ({low}, {high})")
        return Slider(value=value, min=low, max=high, step=step, description=name)
    if isinstance(spec, list) and spec:
        value = default if default is not None else spec[0]
        if value not in spec:
            raise ValueError(f"the default {name}={value!r} must be one of {spec!r}")
        return widgets.ToggleButtons(options=spec, value=value, description=name, style=style)
    raise TypeError(f"{name}= takes (min, max[, step]) for a slider, a list of choices, or True/False; got {spec!r}")


def experiment(run, *, title: str = "", timeout: float = 10.0, start: bool = True, **controls) -> Experiment:
    """Turn a notebook function into a live experiment with controls.

        def split(buffer=64):
            ...                                   # real sockets; print what happened
        socklab.experiment(split, buffer=(16, 256, 16))

    Each keyword names an argument of ``run`` and how to set it: ``(min, max[,
    step])`` a slider, ``[choice, ...]`` buttons, ``True``/``False`` a checkbox.
    The starting value is the function's default. Moving a control runs the
    function again; every run is stopped after ``timeout`` seconds. It runs once
    at once (``start=False`` to wait), so the saved notebook shows a result.
    """
    import inspect
    import math

    if not callable(run):
        raise TypeError(f"experiment needs a function to run, got {run!r}")
    if not controls:
        raise ValueError("name at least one control, e.g. socklab.experiment(split, buffer=(16, 256, 16))")
    if (not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not math.isfinite(timeout)
            or timeout <= 0):
        raise ValueError(f"timeout must be a number of seconds above 0, got {timeout!r}")
    parameters = inspect.signature(run).parameters
    unknown = [name for name in controls if name not in parameters]
    if unknown:
        raise TypeError(f"{run.__name__}() has no argument {unknown[0]!r}: add it to the function, "
                        f"or name one of {', '.join(parameters) or 'its arguments'}")
    built = {}
    for name, spec in controls.items():
        default = parameters[name].default
        built[name] = _control(name, spec, None if default is inspect.Parameter.empty else default)
    box = Experiment(run, built, title or f"Experiment: {run.__name__}", float(timeout))
    if start:
        box.run()
    return box
