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
