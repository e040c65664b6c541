"""A minimal recording stand-in for Nuke's ``nuke`` module (tests only).

It records every call in ``calls`` as ``(name, args)`` and returns canned values
given at construction; it implements no Nuke behaviour.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FakeNuke", "FakeNode", "FakeKnob", "FakeMenu"]


class FakeKnob:
    def __init__(self, value: Any) -> None:
        self._value = value

    def value(self) -> Any:
        return self._value


class FakeNode:
    def __init__(
        self, cls: str, name: str, knobs: dict[str, Any] | None = None
    ) -> None:
        self._cls, self._name, self._knobs = cls, name, dict(knobs or {})

    def Class(self) -> str:
        return self._cls

    def name(self) -> str:
        return self._name

    def __getitem__(self, key: str) -> FakeKnob:
        return FakeKnob(self._knobs[key])


class FakeMenu:
    def __init__(self, recorder: list[tuple[str, tuple[Any, ...]]], path: str) -> None:
        self._calls, self.path = recorder, path

    def addMenu(self, name: str) -> FakeMenu:
        self._calls.append(("menu.addMenu", (self.path, name)))
        return FakeMenu(self._calls, f"{self.path}/{name}")

    def addCommand(self, name: str, command: Any, *args: Any) -> None:
        self._calls.append(("menu.addCommand", (self.path, name, command)))


class FakePanel:
    def __init__(self, owner: FakeNuke, title: str) -> None:
        self._owner = owner
        owner.calls.append(("Panel", (title,)))

    def addEnumerationPulldown(self, name: str, items: str) -> None:
        self._owner.calls.append(("Panel.addEnumerationPulldown", (name, items)))

    def addFilenameSearch(self, name: str, default: str) -> None:
        self._owner.calls.append(("Panel.addFilenameSearch", (name, default)))

    def show(self) -> bool:
        self._owner.calls.append(("Panel.show", ()))
        return self._owner.panel_ok

    def value(self, name: str) -> Any:
        self._owner.calls.append(("Panel.value", (name,)))
        return self._owner.panel_values[name]


class FakeTask:
    def __init__(self, owner: FakeNuke, title: str) -> None:
        self._owner = owner
        owner.calls.append(("ProgressTask", (title,)))

    def setProgress(self, pct: int) -> None:
        self._owner.calls.append(("ProgressTask.setProgress", (pct,)))

    def setMessage(self, text: str) -> None:
        self._owner.calls.append(("ProgressTask.setMessage", (text,)))

    def isCancelled(self) -> bool:
        return False


class FakeNuke:
    """Stand-in for ``nuke``; ``selected`` and ``filenames`` are canned answers."""

    def __init__(
        self,
        selected: FakeNode | None = None,
        filenames: dict[str, str] | None = None,
        panel_values: dict[str, Any] | None = None,
        panel_ok: bool = True,
    ) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._selected, self._filenames = selected, dict(filenames or {})
        self.panel_values, self.panel_ok = dict(panel_values or {}), panel_ok

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def selectedNode(self) -> FakeNode | None:
        self.calls.append(("selectedNode", ()))
        return self._selected

    def filename(self, node: FakeNode) -> str:
        self.calls.append(("filename", (node.name(),)))
        return self._filenames[node.name()]

    def message(self, text: str) -> None:
        self.calls.append(("message", (text,)))

    def menu(self, name: str) -> FakeMenu:
        self.calls.append(("menu", (name,)))
        return FakeMenu(self.calls, name)

    def Panel(self, title: str) -> FakePanel:  # noqa: N802 - Nuke's name
        return FakePanel(self, title)

    def ProgressTask(self, title: str) -> FakeTask:  # noqa: N802 - Nuke's name
        return FakeTask(self, title)

    def executeInMainThread(self, fn: Any, args: tuple[Any, ...] = ()) -> Any:
        self.calls.append(("executeInMainThread", (getattr(fn, "__name__", str(fn)),)))
        return fn(*args)

    def createNode(self, cls: str, args: str = "", inpanel: bool = True) -> FakeNode:
        self.calls.append(("createNode", (cls, args, inpanel)))
        return FakeNode(cls, f"{cls}{len(self.calls)}")
