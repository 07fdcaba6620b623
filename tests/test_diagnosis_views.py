"""The diagnosis in the app: the run detail's Diagnosis tab and the training view's live findings (Pilot, no TF)."""

from __future__ import annotations

import math

from browse_helpers import keraslab_run
from keraslab import core
from keraslab.tui.app import KeraslabApp
from keraslab.tui.browse_app import BrowseApp
from keraslab.tui.messages import TrainingEvent
from keraslab.tui.screens.run_detail import RunDetailScreen
from keraslab.tui.widgets.diagnosis import DiagnosisView
from test_app_training_view import EPOCHS, fake_run
from test_browser_screens import until
from test_diagnose_cli import tensorboardx_run

SIZE = (120, 36)


def shown(screen, selector: str) -> str:
    return str(screen.query_one(selector, DiagnosisView).render())


async def test_run_detail_diagnosis_tab_reads_a_tensorboard_run(tmp_path):
    logdir = tmp_path / "runs"
    n = 15
    train = [2.0 * math.exp(-0.4 * i) for i in range(n)]
    val = [2.0 * math.exp(-0.6 * i) + 0.3 for i in range(5)] + [0.5 + 0.05 * i for i in range(n - 5)]
    run = tensorboardx_run(logdir / "tb-overfit", train, val)
    app = BrowseApp([logdir], interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.push_screen(RunDetailScreen(run, follow=False))
        detail = app.screen
        await until(pilot, lambda: "overfitting from epoch 5" in shown(detail, "#diagnosis-view"))
        detail.query_one("#detail-tabs").active = "tab-diagnosis"
        await pilot.pause()
        text = shown(detail, "#diagnosis-view")
        assert "-> add dropout" in text and "TensorBoard run" in text


async def test_run_detail_of_a_healthy_run_says_so(tmp_path):
    run = keraslab_run(tmp_path / "runs", "digits-cnn", epochs=6)
    app = BrowseApp([tmp_path / "runs"], interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.push_screen(RunDetailScreen(run, follow=False))
        await until(pilot, lambda: "no findings after 6 epochs" in shown(app.screen, "#diagnosis-view"))


async def test_training_view_diagnoses_epochs_as_they_end(tmp_path):
    app = KeraslabApp(logdir=tmp_path / "runs")
    async with app.run_test(size=SIZE) as pilot:
        await fake_run(app, pilot, tmp_path / "r-1")
        screen = app.screen
        assert "no epochs recorded yet" in shown(screen, "#run-diagnosis")
        for e in range(1, 13):
            val = 0.3 if e <= 4 else 0.3 + 0.08 * (e - 4)  # turns up after epoch 4
            logs = {"loss": 1.0 / e, "accuracy": 1 - 0.3 / e, "val_loss": val, "val_accuracy": 0.9}
            app.post_message(TrainingEvent(1, core.EpochEnd(epoch=e, epochs=EPOCHS, logs=logs,
                                                            elapsed=1.0, improved=e <= 4)))
            await pilot.pause()
            if e == 3:
                assert "no findings after 3 epochs" in shown(screen, "#run-diagnosis")
        await until(pilot, lambda: "overfitting from epoch" in shown(screen, "#run-diagnosis"))
        assert "early stopping" in shown(screen, "#run-diagnosis")
