"""socklab.environment and socklab.needs: what the learner's machine offers, tried for real."""

import os
import socket

import pytest

import socklab

import sys

env = sys.modules["socklab.environment"]


def test_a_present_feature_says_nothing(capsys):
    assert socklab.needs("fork", shows="a forked child") is True
    assert capsys.readouterr().out == ""


def test_a_missing_feature_says_one_line_naming_what_it_would_show(capsys, monkeypatch):
    real_isdir = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda p: False if str(p).startswith("/proc") else real_isdir(p))
    assert socklab.needs("procfs", shows="the ephemeral port range.") is False
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("(skipped: no /proc/net here")
    assert out.rstrip().endswith("Where it is available, this cell shows the ephemeral port range.)")


def test_raw_sockets_refused_to_an_ordinary_user(capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(socket, "socket", refuse)
    assert socklab.needs("raw sockets", shows="a ping") is False
    assert "not permitted for this account, which needs root or CAP_NET_RAW" in capsys.readouterr().out


def test_abstract_names_are_tried_not_assumed(monkeypatch):
    """A Linux kernel that refused abstract names would say no, whatever sys.platform says."""
    class Refusing(socket.socket):
        def bind(self, address):
            raise OSError(22, "Invalid argument")

    monkeypatch.setattr(socket, "socket", Refusing)
    ok, detail = env._abstract_names()
    assert not ok and "Invalid argument" in detail


def test_can_is_probed_with_can_raw(monkeypatch):
    """Linux refuses AF_CAN with protocol 0 even where CAN exists: the probe must pass CAN_RAW."""
    if not hasattr(socket, "AF_CAN"):
        pytest.skip("this Python has no AF_CAN")
    seen = []

    class Recording:
        """A socket that accepts any call: the environment's other probes run on it too."""

        def __init__(self, *args):
            seen.append(args)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    monkeypatch.setattr(socket, "socket", Recording)
    checks = {c.name: c for c in socklab.environment().checks}
    assert checks["AF_CAN"].ok
    assert (socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW) in seen


def test_every_feature_answers_with_a_reason():
    for name, probe in env.FEATURES.items():
        ok, detail = probe()
        assert isinstance(ok, bool) and len(detail) > 10, name


def test_gil_enabled_follows_the_interpreter(monkeypatch):
    assert socklab.gil_enabled() is True or hasattr(sys, "_is_gil_enabled")
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)
    assert socklab.gil_enabled() is False
