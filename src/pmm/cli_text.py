"""The command line's own words in the language of the call: Typer's and Click's chrome.

Typer (with its vendored Click) writes its help chrome ("Usage:", "Options", "[required]", "Show
this message and exit.") and its usage errors ("Missing option", "No such option", "Got
unexpected extra argument") in English, mostly without gettext. `install()` routes them through
`pmm.i18n`: Typer's own `gettext` calls get pmm's `_`, the usage prefix, the help option and the
error display are translated where they are written, and Click's finished error messages are
matched against the few shapes it produces and said again in the call's language.

It also translates help texts at display time (`localise`): they are evaluated when a module is
imported, maybe in another language than the one of the call that shows them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import IO, Any

from typer import core as typer_core
from typer._click import core as click_core
from typer._click import exceptions as click_exceptions
from typer._click import formatting as click_formatting
from typer._click.utils import echo

from pmm.i18n import _, localise

_installed: list[bool] = []


def _type_names() -> dict[str, str]:
    return {"integer": _("integer"), "int": _("integer"), "float": _("number"),
            "boolean": _("boolean"), "bool": _("boolean"), "path": _("path"),
            "file": _("file"), "directory": _("directory"), "date": _("date"),
            "datetime": _("date"), "choice": _("choice"), "text": _("text")}


def _env_var(name: str) -> str:
    """`'--as' (env var: 'PMM_USER')` with the parenthesis in the call's language."""
    return re.sub(r"\(env var: '([^']*)'\)",
                  lambda m: "(" + _("env var: {var}").format(var=f"'{m[1]}'") + ")", name)


def _shapes() -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    """Click's error messages, most specific first, each said again through `_()`."""
    types = _type_names()

    def t(template: str) -> Callable[[re.Match[str]], str]:
        def say(m: re.Match[str]) -> str:
            groups = {k: (translate_message(v) if k in ("reason", "message")
                          else _env_var(v) if k == "name" else types.get(v.lower(), v))
                      for k, v in m.groupdict().items()}
            return template.format(**groups)
        return say

    shapes = [
        (r"(?P<message>.+?\.) Did you mean (?P<choices>.+)\?",
         t("{message} " + _("Did you mean {choices}?"))),
        (r"Input should be a valid (?P<type>\w+)(, .*)?", t(_("expected a valid {type}"))),
        (r"Missing option (?P<name>.+)\.", t(_("Missing option {name}."))),
        (r"Missing argument (?P<name>.+)\.", t(_("Missing argument {name}."))),
        (r"Missing parameter: (?P<name>.+)", t(_("Missing parameter: {name}"))),
        (r"No such option: (?P<name>\S+) \(Possible options: (?P<choices>.+)\)",
         t(_("No such option: {name} (possible options: {choices})"))),
        (r"No such option: (?P<name>\S+)", t(_("No such option: {name}"))),
        (r"Got unexpected extra argument(s|\(s\))? \((?P<args>.*)\)",
         t(_("Got unexpected extra arguments ({args})"))),
        (r"Invalid value for (?P<name>.+?): (?P<reason>.+)", t(_("Invalid value for {name}: "
                                                               "{reason}"))),
        (r"Invalid value: (?P<reason>.+)", t(_("Invalid value: {reason}"))),
        (r"Value (?P<value>.+) is not a valid (?P<type>[\w\[\]]+)\.",
         t(_("{value} is not a valid {type}."))),
        (r"(?P<value>.+) is not a valid (?P<type>[\w\[\]]+)\.", t(_("{value} is not a valid "
                                                                   "{type}."))),
        (r"(?P<value>.+) is not one of (?P<choices>.+)\.", t(_("{value} is not one of "
                                                               "{choices}."))),
        (r"(?P<type>[Ff]ile|[Dd]irectory|[Pp]ath) (?P<value>.+) does not exist\.",
         t(_("{type} {value} does not exist."))),
        (r"Option (?P<name>.+) requires an argument\.", t(_("Option {name} needs a value."))),
        (r"Option (?P<name>.+) requires (?P<n>\d+) arguments\.",
         t(_("Option {name} needs {n} values."))),
        (r"Option (?P<name>.+) does not take a value\.", t(_("Option {name} takes no value."))),
    ]
    return [(re.compile(pattern, re.S), say) for pattern, say in shapes]


def translate_message(message: str) -> str:
    """One of Click's messages in the call's language (a pmm message is already translated)."""
    for pattern, say in _shapes():
        m = pattern.fullmatch(message.strip())
        if m:
            return say(m)
    return localise(message)


def _show(self: click_exceptions.ClickException, file: IO[Any] | None = None) -> None:
    echo(_("Error: {message}").format(message=translate_message(self.format_message())),
         file=file, err=file is None, color=self.show_color)


def _show_usage_error(self: click_exceptions.UsageError, file: IO[Any] | None = None) -> None:
    ctx = self.ctx
    if ctx is not None:
        hint = ""
        if ctx.command.get_help_option(ctx) is not None:
            hint = _("Try '{command} {option}' for help.").format(
                command=ctx.command_path, option=ctx.help_option_names[0]) + "\n"
        echo(f"{ctx.get_usage()}\n{hint}", file=file, err=file is None, color=ctx.color)
    _show(self, file)


def _localised_help(format_help: Callable[..., None]) -> Callable[..., None]:
    def wrapper(self: click_core.Command, ctx: click_core.Context, formatter: Any) -> None:
        self.help = localise(self.help) if self.help else self.help
        for param in self.get_params(ctx):
            if getattr(param, "help", None):
                param.help = localise(param.help)
        format_help(self, ctx, formatter)
    return wrapper


def install() -> None:
    """Route the command line's chrome through `pmm.i18n` (once per process; the language is
    still the call's: nothing here chooses one)."""
    if _installed:
        return
    _installed.append(True)
    typer_core._ = _  # type: ignore[attr-defined]  # Typer's own gettext: Options, Commands...
    write_usage = click_formatting.HelpFormatter.write_usage

    def usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        args = args.replace("[OPTIONS]", _("[OPTIONS]")).replace("COMMAND [ARGS]...",
                                                                 _("COMMAND [ARGS]..."))
        write_usage(self, prog, args, _("Usage: ") if prefix is None else prefix)

    click_formatting.HelpFormatter.write_usage = usage  # type: ignore[method-assign]
    get_help_option = click_core.Command.get_help_option

    def help_option(self: Any, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = _("Show this message and exit.")
        return option

    click_core.Command.get_help_option = help_option  # type: ignore[method-assign]
    click_core.Command.format_help = _localised_help(  # type: ignore[method-assign]
        click_core.Command.format_help)
    short_help = click_core.Command.get_short_help_str

    def localised_short_help(self: Any, limit: int = 45) -> str:
        # a command's summary in a group's list: its first sentence whole (the list wraps it;
        # Click would cut it at the width of the terminal)
        if self.short_help:
            return localise(self.short_help)
        if self.help:
            saved, self.help = self.help, localise(self.help)
            try:
                return short_help(self, 300)
            finally:
                self.help = saved
        return short_help(self, 300)

    click_core.Command.get_short_help_str = localised_short_help  # type: ignore[method-assign]
    click_exceptions.ClickException.show = _show  # type: ignore[method-assign]
    click_exceptions.UsageError.show = _show_usage_error  # type: ignore[method-assign]
