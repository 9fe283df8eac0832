import pytest
import rnnfast


@pytest.fixture
def restore_threads():
    before = rnnfast.get_num_threads()
    yield
    rnnfast.set_num_threads(before)
