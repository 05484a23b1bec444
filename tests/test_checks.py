"""socklab.check: a claim printed with what was measured; raises only where it must."""

import socket

import pytest

import socklab
from socklab.errors import SocklabError


def test_a_claim_that_holds_prints_the_claim_and_the_value(capsys):
    assert socklab.check("all 3 datagrams arrived", 3 == 3, "3 of 3 arrived") is None  # no stray True under a cell
    assert capsys.readouterr().out == "checked: all 3 datagrams arrived (measured: 3 of 3 arrived)\n"


def test_a_rule_that_fails_always_raises(monkeypatch):
    monkeypatch.delenv("SOCKLAB_STRICT", raising=False)
    with pytest.raises(AssertionError, match=r"failed: recv returns bytes \(measured: str\). This always holds"):
        socklab.check("recv returns bytes", False, "str")


def test_a_timing_claim_that_fails_is_reported_on_a_learners_machine(monkeypatch, capsys):
    monkeypatch.delenv("SOCKLAB_STRICT", raising=False)
    socklab.check("threading took under 0.3 s", 0.9 < 0.3, "0.90 s", varies="a busy laptop is slower")
    out = capsys.readouterr().out
    assert out.startswith("did not hold on this run: threading took under 0.3 s (measured: 0.90 s)")
    assert "This can vary: a busy laptop is slower." in out


def test_a_timing_claim_that_fails_raises_under_the_tests(monkeypatch):
    monkeypatch.setenv("SOCKLAB_STRICT", "1")
    with pytest.raises(AssertionError, match="threading took under 0.3 s"):
        socklab.check("threading took under 0.3 s", False, "0.90 s", varies="a busy laptop is slower")


def test_the_tests_run_strict():
    import os

    assert os.environ.get("SOCKLAB_STRICT") == "1", "conftest sets it, and the notebooks' kernels inherit it"


@pytest.mark.parametrize("args, kwargs, fix", [
    (("", True, "1"), {}, "claim is the sentence"),
    (("x", True, ""), {}, "measured is what was seen"),
    (("x", True, 3), {}, "measured is what was seen"),
    (("x", True, "3 (about)"), {}, "without parentheses"),
    (("x", True, "3"), {"varies": ""}, "why the result can differ"),
    (("x", True, "3"), {"varies": "two\nlines"}, "on one line"),
    (("two\nlines", True, "3"), {}, "on one line"),
    (("x", None, "3"), {}, "holds is a comparison that is True or False, not NoneType"),
    (("x", "False", "3"), {}, "not str"),
])
def test_bad_input_names_the_fix(args, kwargs, fix):
    with pytest.raises(SocklabError, match=fix):
        socklab.check(*args, **kwargs)


def test_connected_pair_and_wait_until_queued():
    client, server = socklab.connected_pair(timeout=1)
    with client, server:
        client.sendall(b"hello")
        client.sendall(b"world")
        socklab.wait_until_queued(server, 10)
        assert server.recv(1024) == b"helloworld"
        assert server.gettimeout() == 1 and client.gettimeout() == 1
        with pytest.raises(TimeoutError, match="only 0 of 1 bytes arrived within 0.05 s"):
            socklab.wait_until_queued(server, 1, timeout=0.05)
        client.sendall(b"abc")
        with pytest.raises(TimeoutError, match="only 3 of 5 bytes arrived within 0.1 s"):
            socklab.wait_until_queued(server, 5, timeout=0.1)
        assert server.recv(3) == b"abc" and server.gettimeout() == 1   # nothing taken, mode unchanged
        client.shutdown(socket.SHUT_WR)
        with pytest.raises(ConnectionError, match="the peer closed before sending any of the 1 bytes"):
            socklab.wait_until_queued(server, 1, timeout=1)
    assert client.fileno() == -1 and server.fileno() == -1
