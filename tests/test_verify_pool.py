"""Worker-pool faults and callers: deadlines, killed workers, threads, asyncio, Ray."""

from __future__ import annotations

import asyncio
import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
from verify_support import SLOW_GOLD, SLOW_PRED, think

from deepmath_ext.verify import GradeStatus, VerifierPool, grade, grade_batch
from deepmath_ext.verify.pipeline import MAX_CACHED_CHARS, _decide_cached

# Generous: these tests are about faults and callers; deadlines have their own short-deadline pool below.
DEADLINE_S = 30.0
# Short enough to fire on SLOW_PRED (~12 s of sympy), long enough that the replacement worker's first
# check (4x against x+3x) does not also time out on a loaded machine (0.25 s did, at a load of 14).
SHORT_DEADLINE_S = 1.0


@pytest.fixture(scope="module")
def pool():
    with VerifierPool(workers=2, timeout_s=DEADLINE_S) as verifier:
        yield verifier.start()  # timings below measure grading, not interpreter start-up


def symbolic_items(count: int, offset: int = 0) -> tuple[list[str], list[str]]:
    """Distinct responses that need the symbolic check: (i+3)x against 3x+ix."""
    responses = [think(rf"\boxed{{{i + 3}x}}") for i in range(offset, offset + count)]
    golds = [f"3x+{i}x" for i in range(offset, offset + count)]
    return responses, golds


def test_a_hanging_check_is_killed_at_its_deadline():
    with VerifierPool(workers=1, timeout_s=SHORT_DEADLINE_S) as short_pool:
        short_pool.start()
        worker = short_pool.worker_pids()[0]
        result = short_pool.submit(think(rf"\boxed{{{SLOW_PRED}}}"), SLOW_GOLD).result()
        assert result.status == GradeStatus.TIMEOUT
        assert not result.correct
        assert result.detail == f"symbolic check exceeded {SHORT_DEADLINE_S:g} s"
        # The deadline mechanism fired: the worker was killed and counted, not waited for.
        assert short_pool.counts == {"timeouts": 1}
        assert worker not in short_pool.worker_pids()
        # The killed worker was replaced: the pool still grades.
        assert short_pool.submit(think(r"\boxed{4x}"), "x+3x").result().status == GradeStatus.CORRECT_SYMBOLIC


def test_sigkilled_worker_is_replaced_and_batch_completes(pool):
    responses, golds = symbolic_items(200, offset=100)
    deaths_before = pool.counts.get("worker_deaths", 0)
    victim = pool.worker_pids()[0]
    futures = [pool.submit(response, gold) for response, gold in zip(responses, golds, strict=True)]
    futures[0].result()  # the batch is under way, with most items still queued: kill a worker now
    os.kill(victim, signal.SIGKILL)
    grades = [future.result() for future in futures]
    assert all(g.status == GradeStatus.CORRECT_SYMBOLIC for g in grades), [g for g in grades if not g.correct]
    assert pool.counts.get("worker_deaths", 0) == deaths_before + 1
    assert victim not in pool.worker_pids()


def test_four_threads_give_the_sequential_grades(pool):
    responses, golds = symbolic_items(6, offset=300)
    responses += [think(r"\boxed{5}"), think(r"\boxed{2} or \boxed{3}"), "no think", think(r"\boxed{0.5}")]
    golds += ["5", "2", "5", r"\frac12"]
    expected = pool.grade_batch(responses, golds)  # sequential, in another pool: nothing memoised is shared
    with VerifierPool(workers=2) as shared_pool, ThreadPoolExecutor(4) as threads:
        results = list(threads.map(lambda _: shared_pool.grade_batch(responses, golds), range(4)))
    assert all(result == expected for result in results)
    assert {g.status for g in expected} >= {"correct_symbolic", "correct_exact", "hedged", "format_error"}


def test_module_functions_work_off_the_main_thread(pool):
    with ThreadPoolExecutor(2) as threads:
        single = threads.submit(grade, think(r"\boxed{5x}"), "x+4x", pool=pool).result()
        batch = threads.submit(grade_batch, [think(r"\boxed{1/3}")], [r"\frac13"], pool=pool).result()
    assert single.status == GradeStatus.CORRECT_SYMBOLIC
    assert batch[0].status == GradeStatus.CORRECT_NUMERIC


def test_works_inside_a_running_event_loop(pool):
    async def main():
        blocking = grade(think(r"\boxed{6x}"), "x+5x", pool=pool)
        awaited = await asyncio.wrap_future(pool.submit(think(r"\boxed{7x}"), "x+6x"))
        return blocking, awaited

    blocking, awaited = asyncio.run(main())
    assert blocking.correct and awaited.correct


def test_batch_length_mismatch_is_an_error(pool):
    with pytest.raises(ValueError, match="2 responses but 1 gold"):
        pool.grade_batch(["a", "b"], ["1"])


def test_repeated_boxes_are_decided_once_and_long_ones_are_not_kept(pool):
    _decide_cached.cache_clear()
    grades = pool.grade_batch([think(r"\boxed{\frac{1}{2}}")] * 3 + [think(r"\boxed{0.25}")], ["0.5"] * 4)
    assert [g.correct for g in grades] == [True, True, True, False]
    assert grades[0] == grades[1] == grades[2]
    assert (_decide_cached.cache_info().misses, _decide_cached.cache_info().hits) == (2, 2)
    long_box = think(r"\boxed{" + "7" * (MAX_CACHED_CHARS + 1) + "}")
    assert pool.grade_batch([long_box] * 2, ["7"] * 2)[0].status == GradeStatus.WRONG
    assert _decide_cached.cache_info().currsize == 2  # a long box is decided each time, never kept


@pytest.mark.slow
def test_works_inside_a_ray_actor(ray_session):
    @ray_session.remote(num_cpus=0)
    class Grader:
        def run(self, response, gold):
            return grade(response, gold).to_dict()

    actor = Grader.remote()
    try:
        result = ray_session.get(actor.run.remote(think(r"\boxed{(x+2)^2}"), "x^2+4x+4"), timeout=120)
    finally:
        ray_session.kill(actor)
    assert result["status"] == "correct_symbolic"
