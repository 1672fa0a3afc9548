"""Model references: one parser for NAME@stage and NAME@vN, refusing the ambiguous ones."""

from __future__ import annotations

import pytest

from tuneforge.errors import NameRuleError
from tuneforge.store import Registry, RunDir, open_store
from tuneforge.store.refs import ModelRef, parse_model_ref, resolve_model, served_name


def test_stage_and_version_references_parse_one_way():
    """NAME@stage and NAME@vN are the two forms; a plain run id is not a reference."""
    assert parse_model_ref("intents@production") == ModelRef("intents", stage="production")
    assert parse_model_ref("intents@v12") == ModelRef("intents", version=12)
    assert parse_model_ref("run-20261201-abcd") is None
    assert str(ModelRef("m", version=3)) == "m@v3"


@pytest.mark.parametrize(
    "ref", ["a@b@production", "a@", "@production", "a@prod", "a@v0", "../x@production", "a b@v1"]
)
def test_ambiguous_or_unsafe_references_are_refused(ref):
    """`serve a@b@production` used to serve model 'a@b' but report and log it as 'a': any
    reference that is not exactly NAME@stage or NAME@vN with a valid name is refused."""
    with pytest.raises(NameRuleError):
        parse_model_ref(ref)


def test_a_version_reference_resolves_to_that_version(tmp_path):
    """NAME@vN loads version N's artifact even when another version holds the stage."""
    runs_dir = tmp_path / "runs"
    artifacts = []
    registry = Registry(open_store(runs_dir))
    for run_id in ("r1", "r2"):
        rd = RunDir.create(runs_dir, run_id)
        rd.update_status(state="succeeded")
        rd.model_dir.mkdir(parents=True)
        artifacts.append(rd.model_dir)
        registry.promote("m", run_id, "model", str(rd.model_dir.resolve()), "production")
    run, artifact = resolve_model("m@v1", runs_dir)
    assert artifact == artifacts[0].resolve() and run.run_id == "r1"
    assert resolve_model("m@production", runs_dir)[1] == artifacts[1].resolve()
    assert served_name("m@v1", run) == ("m", None)
    assert served_name("m@production", run) == ("m", "production")
