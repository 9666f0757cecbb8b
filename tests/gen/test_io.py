"""Events-file writer and reader: layout, completion mark, atomic writes, bad files; shards."""

import h5py
import numpy as np
import pytest

from gen.events import EventChunk
from gen.io import (
    EVENTS_FORMAT,
    EVENTS_OFFSETS,
    FileFormatError,
    chunk_arrays,
    events_writer,
    iter_event_chunks,
    open_events,
    read_events,
)
from gen.shards import ShardsBusyError, ShardStore, chunk_plan, shard_dir
from gen.streams import BLOCK_EVENTS


def _chunk(n, per_event, start=0.0):
    c = EventChunk.fixed_multiplicity(n, per_event, truth={"m_x": np.full(n, 1.5)})
    c.particles["px"][:] = start + np.arange(n * per_event)
    c.particles["pdg"][:] = 13
    return c


def _write(path, chunks):
    with events_writer(
        path, {"process": "test", "n_events": sum(c.n_events for c in chunks), "seed": 1}
    ) as w:
        for c in chunks:
            w.append(chunk_arrays(c))


def test_round_trip_with_global_offsets(tmp_path):
    path = tmp_path / "ev.h5"
    _write(path, [_chunk(3, 2), _chunk(4, 3, start=100.0)])
    attrs, ev = read_events(path)
    assert attrs["format"] == EVENTS_FORMAT
    assert attrs["complete"]
    np.testing.assert_array_equal(ev.offset, [0, 2, 4, 6, 9, 12, 15, 18])
    np.testing.assert_array_equal(ev.particles["px"][6:9], [100.0, 101.0, 102.0])
    assert ev.particles["pdg"].dtype == np.int32
    assert ev.truth["m_x"].shape == (7,)
    with open_events(path) as f:
        chunks = list(iter_event_chunks(f, 5))
    assert [s for s, _ in chunks] == [0, 5]
    np.testing.assert_array_equal(chunks[1][1].offset, [0, 3, 6])


def test_failure_leaves_no_file(tmp_path):
    path = tmp_path / "ev.h5"
    def fail():
        with events_writer(path, {"n_events": 1}) as w:
            w.append(chunk_arrays(_chunk(1, 2)))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert list(tmp_path.iterdir()) == []


def test_missing_truncated_foreign_incomplete(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        open_events(tmp_path / "nope.h5")
    good = tmp_path / "good.h5"
    _write(good, [_chunk(50, 4)])
    data = good.read_bytes()
    bad = tmp_path / "trunc.h5"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError):
        open_events(bad)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f.attrs["format"] = "something/else"
    with pytest.raises(FileFormatError, match="not a 'b2dark.events/1'"):
        open_events(foreign)
    newer = tmp_path / "newer.h5"
    with h5py.File(newer, "w") as f:
        f.attrs["format"] = "b2dark.events/9"
    with pytest.raises(FileFormatError, match="upgrade b2dark"):
        open_events(newer)
    incomplete = tmp_path / "incomplete.h5"
    with h5py.File(incomplete, "w") as f:
        f.attrs["format"] = EVENTS_FORMAT
    with pytest.raises(FileFormatError, match="incomplete"):
        open_events(incomplete)
    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(FileFormatError, match="not an HDF5"):
        open_events(text)


def test_wrong_lengths_are_refused(tmp_path):
    path = tmp_path / "ev.h5"
    _write(path, [_chunk(3, 2)])
    with h5py.File(path, "r+") as f:
        f.attrs["n_events"] = 4
    with pytest.raises(FileFormatError, match="n_events"):
        open_events(path)


# -- shards (gen/shards.py) and the NaN/inf check (gen/events.py) -----------------------------


def _shard_parts():
    return [chunk_arrays(_chunk(3, 2)), chunk_arrays(_chunk(2, 3, start=50.0))]


def test_shard_round_trip_and_verification(tmp_path):
    out = tmp_path / "ev.h5"
    with ShardStore(out, EVENTS_OFFSETS) as store:
        store.write(0, _shard_parts(), {"shard_key": "k0", "n_events": 5})
        assert store.verified(0, "k0", 5)["n_events"] == 5
        data = store.read(0)
        np.testing.assert_array_equal(data["events/offset"], [0, 2, 4, 6, 9, 12])
        np.testing.assert_array_equal(data["particles/px"][6:9], [50.0, 51.0, 52.0])
        # other settings (key), another size, a truncated or foreign file: redone, i.e. removed
        assert store.verified(0, "other", 5) is None
        assert not store.path(0).exists()
        store.write(1, _shard_parts(), {"shard_key": "k1", "n_events": 5})
        assert store.verified(1, "k1", 6) is None
        store.write(2, _shard_parts(), {"shard_key": "k2", "n_events": 5})
        raw = store.path(2).read_bytes()
        store.path(2).write_bytes(raw[: len(raw) // 2])
        assert store.verified(2, "k2", 5) is None
        store.write(3, _shard_parts(), {"shard_key": "k3", "n_events": 5})
        with h5py.File(store.path(3), "r+") as f:
            del f["particles/e"]
            f.create_dataset("particles/e", data=np.zeros(4))
        assert store.verified(3, "k3", 5) is None
        assert store.verified(4, "k4", 5) is None  # never written
    assert not (shard_dir(out) / "lock").exists()


def test_shard_folder_is_locked_and_stale_files_are_cleaned(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "ev.h5"
    d = shard_dir(out)
    d.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (d / "lock").write_text(str(holder.pid))
        with pytest.raises(ShardsBusyError, match="another b2dark process"), ShardStore(
            out, EVENTS_OFFSETS
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    # a dead writer's lock and temporary files (shard and final file) are taken over / removed
    (d / "chunk-000000.h5.tmp-99999999").write_text("x")
    (tmp_path / f".ev.h5.tmp-{holder.pid}").write_text("x")
    with ShardStore(out, EVENTS_OFFSETS):
        assert sorted(p.name for p in d.iterdir()) == ["lock"]
        assert sorted(p.name for p in tmp_path.iterdir()) == [d.name]


def test_chunk_plan_covers_every_block_once():
    plan = chunk_plan(5 * BLOCK_EVENTS + 7, 2)
    assert [first for first, _ in plan] == [0, 2, 4]
    assert [len(sizes) for _, sizes in plan] == [2, 2, 2]
    assert sum(sum(sizes) for _, sizes in plan) == 5 * BLOCK_EVENTS + 7
    assert plan[-1][1][-1] == 7
    assert chunk_plan(0, 3) == []
    with pytest.raises(ValueError, match="chunk_blocks"):
        chunk_plan(10, 0)


@pytest.mark.parametrize("field", ["weight", "px", "py", "pz", "e"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_name_process_seed_and_chunk(field, bad):
    c = _chunk(4, 3)
    c.check("mumu", seed=3, chunk=2, block=40)  # finite: passes
    values = c.weight if field == "weight" else c.particles[field]
    values[7 % len(values)] = bad
    event = 3 if field == "weight" else 2  # particle 7 belongs to event 2 (3 per event)
    with pytest.raises(
        FloatingPointError,
        match=rf"process 'mumu' .*non-finite {field} \(.*\) at event {event} .*"
        r"\(seed 3, chunk 2, block 40\)",
    ):
        c.check("mumu", seed=3, chunk=2, block=40)
