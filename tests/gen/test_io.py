"""Events-file writer and reader: layout, completion mark, atomic writes, bad files; shards."""

import os

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
from gen.shards import (
    HeadFile,
    ShardsBusyError,
    ShardStore,
    chunk_plan,
    chunks_on_disk,
    concat_parts,
    shard_dir,
)
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


# -- the head file: chunks appended once, in order, resumable (gen/shards.py) ----------------


def _blocks(c):
    """Chunk c's two blocks (distinct values per chunk)."""
    return [chunk_arrays(_chunk(2 + c, 2, start=100.0 * c)),
            chunk_arrays(_chunk(1, 3, start=100.0 * c + 50.0))]


def _reference_file(path, n_chunks, attrs):
    """The same chunks through the plain events writer: the independent reference."""
    with events_writer(path, attrs) as w:
        for c in range(n_chunks):
            for block in _blocks(c):
                w.append(block)


def _same_content(a, b):
    aa, da = read_events(a)
    ab, db = read_events(b)
    assert aa.keys() == ab.keys()
    for k in aa:
        assert np.array_equal(aa[k], ab[k]), k
    np.testing.assert_array_equal(da.offset, db.offset)
    np.testing.assert_array_equal(da.weight, db.weight)
    for name in da.particles:
        np.testing.assert_array_equal(da.particles[name], db.particles[name], err_msg=name)
    np.testing.assert_array_equal(da.truth["m_x"], db.truth["m_x"])


def _final_attrs(n_chunks):
    n = sum(3 + c for c in range(n_chunks))
    return {"process": "test", "n_events": n, "seed": 1}


def test_concat_parts_shifts_offsets_by_the_owner():
    merged = concat_parts(_blocks(0), EVENTS_OFFSETS)
    np.testing.assert_array_equal(merged["events/offset"], [0, 2, 4, 7])
    np.testing.assert_array_equal(merged["particles/px"][4:], [50.0, 51.0, 52.0])
    assert merged["events/offset"].dtype == np.int64


def test_head_file_equals_the_plain_writer_and_leaves_nothing_else(tmp_path):
    out, ref = tmp_path / "ev.h5", tmp_path / "ref.h5"
    keys = ["k0", "k1", "k2"]
    with ShardStore(out, EVENTS_OFFSETS) as store:
        head = HeadFile(store, keys)
        for c in range(3):
            head.append(c, _blocks(c), {"stats": [c]})
            with pytest.raises(FileFormatError, match="not a 'b2dark.events/1'"):
                open_events(head.path)  # under construction: readers refuse it
        head.commit({"format": EVENTS_FORMAT, **_final_attrs(3)})
        store.remove()
    _reference_file(ref, 3, _final_attrs(3))
    _same_content(out, ref)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev.h5", "ref.h5"]


def test_head_file_resumes_after_a_kill_and_drops_a_partial_append(tmp_path):
    out, ref = tmp_path / "ev.h5", tmp_path / "ref.h5"
    keys = ["k0", "k1", "k2", "k3"]
    with ShardStore(out, EVENTS_OFFSETS) as store:
        head = HeadFile(store, keys)
        head.append(0, _blocks(0), {"stats": [0]})
        head.append(1, _blocks(1), {"stats": [1]})
        # a kill in the middle of chunk 2: data appended and flushed, no journal line
        head.writer.append(_blocks(2)[0])
        head.writer.flush()
        head.close()
        with open(head.journal, "a") as f:
            f.write('{"chunk": 2, "key": "k2", "len')  # and a torn line
    assert chunks_on_disk(out) == {0, 1}
    with ShardStore(out, EVENTS_OFFSETS) as store:
        head = HeadFile(store, keys)
        assert head.n_chunks == 2
        assert [r["stats"] for r in head.records] == [[0], [1]]
        # chunk 3 finished first (as on Dask): a shard, appended when its turn comes
        store.write(3, _blocks(3), {"shard_key": "k3", "n_events": 4})
        assert head.drain({3: {"stats": [3]}}) == []
        head.append(2, _blocks(2), {"stats": [2]})
        assert head.drain({3: {"stats": [3]}}) == [3]
        assert not store.path(3).exists()
        head.commit({"format": EVENTS_FORMAT, **_final_attrs(4)})
        store.remove()
    _reference_file(ref, 4, _final_attrs(4))
    _same_content(out, ref)


def test_head_file_made_with_other_settings_is_redone(tmp_path):
    out = tmp_path / "ev.h5"
    with ShardStore(out, EVENTS_OFFSETS) as store:
        head = HeadFile(store, ["a0", "a1"])
        head.append(0, _blocks(0), {})
        head.close()
    with ShardStore(out, EVENTS_OFFSETS) as store:
        assert HeadFile(store, ["a0", "a1"]).n_chunks == 1
    with ShardStore(out, EVENTS_OFFSETS) as store:
        head = HeadFile(store, ["b0", "b1"])  # e.g. another seed: nothing reusable
        assert head.n_chunks == 0
        with pytest.raises(ValueError, match="not next"):
            head.append(1, _blocks(1), {})
        head.close()
    # a head whose data is shorter than its journal (damaged) is redone as well
    with ShardStore(out, EVENTS_OFFSETS) as store:
        head = HeadFile(store, ["b0", "b1"])
        head.append(0, _blocks(0), {})
        head.close()
        with h5py.File(head.path, "r+") as f:
            f["particles/px"].resize((1,))
    with ShardStore(out, EVENTS_OFFSETS) as store:
        assert HeadFile(store, ["b0", "b1"]).n_chunks == 0


def test_xsec_does_not_import_h5py():
    """``b2dark xsec`` (and importing the generation driver) needs no HDF5: h5py (~0.03 s of
    start-up) is imported only where a file is opened."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys\n"
        "import gen.generate, gen.io, gen.shards\n"
        "assert 'h5py' not in sys.modules, 'import'\n"
        "from analysis.cli import main\n"
        "code = main(['xsec', sys.argv[1], '--points', '1000'])\n"
        "assert code == 0, code\n"
        "assert 'h5py' not in sys.modules, 'xsec'\n"
    )
    card = root / "cards" / "samples" / "bhabha.toml"
    res = subprocess.run([sys.executable, "-c", code, str(card)], capture_output=True,
                         text=True, cwd=root, timeout=600, check=False,
                         env=dict(os.environ, PYTHONSAFEPATH="1"))  # tests/conftest.py
    assert res.returncode == 0, res.stderr[-2000:]
    assert "cross_section_pb" in res.stdout
