"""The run view's Evaluation tab: per-class table, heat-map confusion matrix (select a cell to
list its samples), misclassified samples as images, paged and worst first, and predict on a file."""

from __future__ import annotations

from pathlib import Path

from keraslab.core import (
    KeraslabError,
    evaluate,
    has_saved_predictions,
    load_predictions,
    mistakes,
    predict_files,
    sample_images,
)
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Static

from ..fmt import visible
from ..images import image_widget

PAGE = 12  # samples shown at a time


class EvaluationLoaded(Message):
    def __init__(self, preds, evaluation):
        super().__init__()
        self.preds = preds
        self.evaluation = evaluation


class SamplesLoaded(Message):
    def __init__(self, token: int, indices, images, error: str | None = None):
        super().__init__()
        self.token = token
        self.indices = indices
        self.images = images
        self.error = error


class EvaluationPanel(VerticalScroll):
    """A keraslab run's evaluation on its test set; loads when first shown (:meth:`start`)."""

    BINDINGS = [
        Binding("right_square_bracket", "page(1)", "Next samples"),
        Binding("left_square_bracket", "page(-1)", "Prev samples"),
        Binding("m", "all_mistakes", "Mistakes"),
    ]
    DEFAULT_CSS = """
    EvaluationPanel { height: 1fr; }
    EvaluationPanel #eval-matrix { height: auto; max-height: 24; width: auto; }
    EvaluationPanel #eval-samples { grid-size: 4; grid-gutter: 1 2; height: auto; grid-rows: auto; }
    EvaluationPanel .sample { height: auto; width: auto; }
    EvaluationPanel .sample-caption { width: 30; height: auto; }
    EvaluationPanel #eval-predict-row { height: 3; }
    EvaluationPanel #eval-predict-path { width: 1fr; }
    EvaluationPanel #eval-checkpoint { display: none; }
    """

    def __init__(self, run_dir: Path, **kwargs):
        super().__init__(**kwargs)
        self.run_dir = Path(run_dir)
        self.started = False
        self.preds = None
        self.evaluation = None
        self._matrix_classes: list[int] = []
        self._indices = None
        self._title = ""
        self._page = 0
        self._token = 0

    def compose(self) -> ComposeResult:
        yield Static("evaluation not loaded yet", id="eval-status")
        yield Button("Evaluate the best checkpoint (loads TensorFlow)", id="eval-checkpoint")
        yield Static(id="eval-classes")
        yield Static("", id="eval-matrix-title")
        yield DataTable(id="eval-matrix", cursor_type="cell", zebra_stripes=False)
        yield Static(id="eval-pairs")
        yield Static("", id="eval-samples-title")
        yield Grid(id="eval-samples")
        with Horizontal(id="eval-predict-row"):
            yield Input(placeholder="image file to classify (PNG, JPEG): type a path, Enter",
                        id="eval-predict-path")  # fmt: skip
            yield Button("Predict", id="eval-predict")
        yield Static("", id="eval-predict-result")

    # -- loading
    def start(self) -> None:
        """Load the evaluation (once): the saved predictions at once; a run without them
        offers its checkpoint instead (TensorFlow loads only when asked)."""
        if self.started:
            return
        self.started = True
        if has_saved_predictions(self.run_dir):
            self._status("reading the test predictions ...")
            self._load()
        elif (self.run_dir / "best_model.keras").is_file():
            self._status("this run kept no test predictions; its best checkpoint can be evaluated")
            self.query_one("#eval-checkpoint", Button).display = True
        else:
            self._status("no test predictions and no checkpoint (has the run finished?)")

    def _status(self, text: str) -> None:
        self.query_one("#eval-status", Static).update(Text(text))

    @on(Button.Pressed, "#eval-checkpoint")
    def _evaluate_checkpoint(self) -> None:
        self.query_one("#eval-checkpoint", Button).display = False
        self._status("evaluating the best checkpoint on the test set ...")
        self._load()

    @work(thread=True, exclusive=True, group="eval-load")
    def _load(self) -> None:
        try:
            preds = load_predictions(self.run_dir)
            self.post_message(EvaluationLoaded(preds, evaluate(preds)))
        except KeraslabError as exc:
            self.app.call_from_thread(self._status, f"cannot evaluate: {visible(exc)}")

    def on_evaluation_loaded(self, message: EvaluationLoaded) -> None:
        from .. import insight_render as render

        self.preds, ev = message.preds, message.evaluation
        self.evaluation = ev
        self._status(render.headline(ev, "test set") + f"  [from {visible(self.preds.source)}]")
        self.query_one("#eval-classes", Static).update(render.class_table(ev))
        self._matrix_classes = render.matrix_classes(ev)
        shown = "" if len(self._matrix_classes) == len(ev.class_names) else f" ({len(self._matrix_classes)} classes with most errors)"
        self.query_one("#eval-matrix-title", Static).update(
            Text(f"confusion matrix{shown}: rows true, columns predicted; Enter on a cell lists its samples")
        )
        table = self.query_one("#eval-matrix", DataTable)
        table.clear(columns=True)
        for k in self._matrix_classes:
            table.add_column(str(k), key=str(k))
        for k, cells in zip(self._matrix_classes, render.confusion_cells(ev, self._matrix_classes), strict=True):
            table.add_row(*cells, key=str(k), label=Text(render.name(ev, k)))
        self.query_one("#eval-pairs", Static).update(
            Text(render.pairs_text(ev))
        )
        self.show_samples(mistakes(self.preds), "the most confident mistakes")

    # -- samples
    def show_samples(self, indices, title: str) -> None:
        """Show test samples ``indices`` (already in order) from the first page."""
        self._indices, self._title, self._page = indices, title, 0
        self._show_page()

    def _show_page(self) -> None:
        if self._indices is None:
            return
        n = len(self._indices)
        pages = max(1, -(-n // PAGE))
        self._page = min(max(self._page, 0), pages - 1)
        start = self._page * PAGE
        page = self._indices[start : start + PAGE]
        where = f"{start + 1}-{start + len(page)} of {n:,}" if n else "none"
        self.query_one("#eval-samples-title", Static).update(
            Text(f"{self._title}: {where}" + (f"  (page {self._page + 1}/{pages}: [ and ] turn)" if pages > 1 else ""))
        )
        self._token += 1
        self._load_images(self._token, page)

    @work(thread=True, exclusive=True, group="eval-images")
    def _load_images(self, token: int, indices) -> None:
        try:
            images = sample_images(self.preds, indices) if len(indices) else []
            self.post_message(SamplesLoaded(token, indices, images))
        except KeraslabError as exc:
            self.post_message(SamplesLoaded(token, indices, [], visible(exc)))

    async def on_samples_loaded(self, message: SamplesLoaded) -> None:
        if message.token != self._token:
            return  # an older page
        from ..insight_render import caption

        grid = self.query_one("#eval-samples", Grid)
        await grid.remove_children()
        if message.error:
            await grid.mount(Static(Text(f"cannot show the samples: {message.error}")))
            return
        cards = [Vertical(image_widget(img), Static(Text(caption(self.preds, int(i))), classes="sample-caption"),
                          classes="sample") for i, img in zip(message.indices, message.images, strict=True)]  # fmt: skip
        await grid.mount_all(cards)

    def action_page(self, step: int) -> None:
        self._page += step
        self._show_page()

    def action_all_mistakes(self) -> None:
        if self.preds is not None:
            self.show_samples(mistakes(self.preds), "the most confident mistakes")

    @on(DataTable.CellSelected, "#eval-matrix")
    def _cell_selected(self, event: DataTable.CellSelected) -> None:
        if self.preds is None:
            return
        t, p = self._matrix_classes[event.coordinate.row], self._matrix_classes[event.coordinate.column]
        ev = self.evaluation
        from ..insight_render import name

        what = "correct" if t == p else f"predicted {name(ev, p)}"
        self.show_samples(mistakes(self.preds, true=t, pred=p), f"true {name(ev, t)}, {what}")

    # -- predict a file
    @on(Input.Submitted, "#eval-predict-path")
    @on(Button.Pressed, "#eval-predict")
    def _predict(self) -> None:
        path = self.query_one("#eval-predict-path", Input).value.strip()
        if not path:
            self.query_one("#eval-predict-result", Static).update(Text("type the path of an image file first"))
            return
        self.query_one("#eval-predict-result", Static).update(Text(f"classifying {visible(path)} ..."))
        self._run_predict(path)

    @work(thread=True, exclusive=True, group="eval-predict")
    def _run_predict(self, path: str) -> None:
        from ..insight_render import pct

        try:
            (result,) = predict_files(self.run_dir, [Path(path).expanduser()])
        except KeraslabError as exc:
            result = exc
        if isinstance(result, KeraslabError):
            text = f"error: {visible(result)}"
        else:
            text = f"{visible(path)}: " + ", ".join(f"{visible(c)} {pct(p)}" for c, p in result.top)
            text += "  (inverted: light background)" if result.inverted else ""
        self.app.call_from_thread(self.query_one("#eval-predict-result", Static).update, Text(text))
