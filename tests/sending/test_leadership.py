import time

import pytest
from tests.sending.outage import PostgresProxy

from textcast.db import Database
from textcast.sending.leadership import DispatcherLock


def test_only_one_dispatcher_leads_and_a_standby_takes_over(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    leader, standby = DispatcherLock(first), DispatcherLock(second)
    try:
        assert leader.try_acquire()
        assert not standby.try_acquire()
        leader.release()
        assert standby.try_acquire()
    finally:
        leader.release()
        standby.release()
        first.dispose()
        second.dispose()


def test_a_lock_whose_connection_was_cut_is_known_lost_and_can_be_taken_again(
    database_url: str, engine_name: str
) -> None:
    if engine_name != "postgresql":
        pytest.skip("SQLite's dispatcher lock is a file of this process: no connection to lose")
    proxy = PostgresProxy(database_url)
    behind_proxy = Database(proxy.url)
    lock = DispatcherLock(behind_proxy)
    try:
        assert lock.try_acquire()
        assert lock.still_held()
        with proxy.outage(0.5):
            assert not lock.still_held()
        deadline = time.monotonic() + 10
        while not lock.try_acquire():  # once the server has ended the cut session
            assert time.monotonic() < deadline, "the cut session kept the lock"
            time.sleep(0.1)
        assert lock.still_held()
    finally:
        lock.release()
        behind_proxy.dispose()
        proxy.close()
