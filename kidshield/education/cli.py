"""``kidshield learn``, ``kidshield drill`` (and ``drill tabletop``), ``kidshield assess``.
Thin: parse, call, print."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from kidshield.console import fail
from kidshield.education.choices import choice_number

out = Console()
err = Console(stderr=True)

drill_app = typer.Typer(
    help="Check that the protections hold on this network; 'drill tabletop' runs a scenario.",
    invoke_without_command=True,
)



def learn(
    band: Annotated[str | None, typer.Argument(help="under-9, 9-12, 13-18 or guide")] = None,
    topic: Annotated[str | None, typer.Argument(help="privacy, strangers, kindness, "
                                                     "getting-help (guides: parents, "
                                                     "educators)")] = None,
    quiz: Annotated[bool, typer.Option("--quiz/--no-quiz",
                                       help="Ask the quiz questions after the lesson.")] = False,
    lang: Annotated[str, typer.Option("--lang", help="Language: ar, en, es, fr, ru or zh (a "
                                                     "lesson not written in it yet, and the "
                                                     "guides for adults, are in English).")]
    = "en",
) -> None:
    """Read a lesson in the terminal (without arguments: list them)."""
    from kidshield.education.lessons import BAND_LABELS, TOPIC_LABELS, default_library
    from kidshield.education.web import quiz_message
    from kidshield.web.i18n import available, translator

    if lang not in available("child"):
        fail(f"no language {lang!r} (there are: {', '.join(available('child'))})")
    t = translator(lang)
    lib = default_library()
    if band is None or topic is None:
        bands = [band] if band else [*BAND_LABELS]
        if band and band not in BAND_LABELS:
            fail(f"no age group {band!r} (there are: {', '.join(BAND_LABELS)})")
        # the words a child reads come from the children's catalog; the ids are what to type
        table = Table(title=t("All lessons"), show_header=False)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column()
        table.add_column()
        for b in bands:
            for lesson in lib.band(b, lang):
                table.add_row(b, lesson.topic, lesson.title,
                              t(TOPIC_LABELS.get(lesson.topic, BAND_LABELS[b])))
        out.print(table)
        out.print("Read one with: kidshield learn BAND TOPIC (e.g. kidshield learn 9-12 "
                  f"privacy{'' if lang == 'en' else f' --lang {lang}'})", highlight=False)
        return
    found = lib.get(band, topic, lang)
    if found is None:
        fail(f"no lesson {band}/{topic}: run 'kidshield learn' for the list")
    lesson = found
    if lesson.lang != lang:
        why = ("the guides for adults are in English" if band == "guide"
               else f"{band}/{topic} is not written in {lang} yet: here it is in English")
        err.print(f"[dim]{why}.[/]", highlight=False)
    out.print(Markdown(f"# {lesson.title}\n\n*{lesson.header.summary}*\n\n{lesson.body}"))
    if not lesson.header.quiz:
        return
    right = 0
    for n, q in enumerate(lesson.header.quiz, start=1):
        out.print(f"\n[bold]{n}. {escape(q.question)}[/]")
        for i, c in enumerate(q.choices, start=1):
            out.print(f"   {i}. {escape(c)}")
        if not quiz:
            continue
        line = sys.stdin.readline()
        number = choice_number(line, 1, len(q.choices))
        picked = -1 if number is None else number - 1
        ok = picked == q.answer
        right += ok
        said = q.said_right() if ok else q.said_wrong(t(
            "Not quite. The answer is: {answer}", answer=q.choices[q.answer]))
        out.print(("[green]\u2713 " if ok else "[yellow]\u2717 ") + f"{escape(said)}[/]")
    total = len(lesson.header.quiz)
    if quiz:
        out.print(f"\n[bold]{escape(quiz_message(t, right, total, total))}[/]")
    else:
        out.print("\n[dim]Answer the quiz with --quiz, or on the web page "
                  f"{lesson.url}{'' if lang == 'en' else f'?lang={lang}'}[/]")


@drill_app.callback()
def drill(
    ctx: typer.Context,
    server: Annotated[str, typer.Option("--server", help="kidshield server address")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="its DNS port")] = 53,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
    = False,
    egress: Annotated[str | None, typer.Option(
        "--egress", help="An outside DNS server to try directly on ports 53 and 853 (tests "
        "the firewall); nothing is sent outside without it.")] = None,
    blocked_name: Annotated[list[str] | None, typer.Option(
        "--blocked-name", help="A name that should be blocked for this device (repeatable).")]
    = None,
    block_page_port: Annotated[int, typer.Option(
        "--block-page-port", help="Port of the block page web server.")] = 80,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per query.")] = 2.0,
    html: Annotated[Path | None, typer.Option("--html", help="Also write the scorecard "
                                                             "as HTML.")] = None,
) -> None:
    """Run the cyberdrill: every protection, one by one, with the fix for each failure."""
    if ctx.invoked_subcommand is not None:
        return
    import ipaddress

    for label, value in (("--server", server), ("--egress", egress)):
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                fail(f"{label} {value!r} is not an IP address (e.g. 192.168.1.2)")
    from kidshield.education.drill import DrillOptions, run_drill
    from kidshield.education.scorecard import print_scorecard, to_html, to_json

    if html is not None:
        _check_writable(html, "--html")
    options = DrillOptions(server=server, port=port, timeout=timeout,
                           blocked_names=tuple(blocked_name or ()), egress=egress,
                           block_page_port=block_page_port)
    where = f"{server} port {port}"
    if as_json:
        results = run_drill(options)
        typer.echo(to_json(results, where))
    else:
        with err.status(f"drilling {where} ..."):
            results = run_drill(options)
        print_scorecard(results, out, where)
    if html is not None:
        _write(html, to_html(results, where, datetime.now(UTC)), "--html")
    if any(r.status == "fail" for r in results):
        raise typer.Exit(1)


@drill_app.command("tabletop")
def tabletop(
    scenario: Annotated[str | None, typer.Argument(help="Scenario name (none: list them)")]
    = None,
    lang: Annotated[str, typer.Option("--lang", help="Language: ar, en, es, fr, ru or zh "
                                                     "(scenarios not translated yet are "
                                                     "shown in English).")] = "en",
) -> None:
    """Walk a group through a scenario step by step (answers are read from the keyboard or
    standard input, one number per line)."""
    from kidshield.education.tabletop import prompt, run, scenarios
    from kidshield.education.tabletop import scenario as find
    from kidshield.web.i18n import available, translator

    if lang not in available("child"):
        fail(f"no language {lang!r} (there are: {', '.join(available('child'))})")
    t = translator(lang)
    if scenario is None:
        for sc in scenarios(lang).values():
            out.print(f"[bold]{sc.id}[/]: {escape(sc.title)} [dim]({escape(sc.audience)})[/]")
        return

    def read() -> str | None:
        out.print(f"[bold]{escape(prompt(t))}[/] ", end="")
        line = sys.stdin.readline()
        return line if line else None

    walk = run(find(scenario, lang), read,
               lambda text: out.print(escape(text), highlight=False), t)
    if walk.ending is None:
        raise typer.Exit(1)


def assess_command(
    answers: Annotated[Path | None, typer.Option("--answers", help="Answers file (TOML or "
                                                                   "JSON).")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the report as HTML.")]
    = None,
    md: Annotated[Path | None, typer.Option("--md", help="Write the report as Markdown.")]
    = None,
    section: Annotated[list[str] | None, typer.Option(
        "--section", help="Sections to answer interactively: families, schools, isps, "
                          "app-makers, hotlines (default: all).")] = None,
    drill: Annotated[Path | None, typer.Option(
        "--drill", help="A drill scorecard ('kidshield drill --json > drill.json') to use as "
                        "evidence.")] = None,
) -> None:
    """COP self-assessment by the ITU's five key areas: what is in place, what is missing
    (worst risk first), and what covers each gap."""
    from kidshield.education.assess import (
        ANSWERS,
        AssessmentError,
        assess,
        load_answers,
        load_drill,
        parse_answers,
        questionnaire,
        to_html,
        to_markdown,
    )

    for path, option in ((html, "--html"), (md, "--md")):
        if path is not None:
            _check_writable(path, option)
    evidence = load_drill(drill) if drill is not None else None
    if answers is not None:
        organisation, given = load_answers(answers)
    else:
        q = questionnaire()
        for name in section or ():
            try:  # a misspelt section fails now, not after the first question
                q.get(name)
            except AssessmentError as exc:
                fail(str(exc))
        organisation = typer.prompt("Organisation (optional)", default="", show_default=False)
        data: dict[str, dict[str, str]] = {}
        for s in q.section:
            if section and s.id not in section:
                continue
            out.print(f"\n[bold]{escape(s.title)}[/] [dim]{escape(s.intro)}[/]")
            data[s.id] = {}
            for item in s.item:
                # Enter leaves the item unanswered (counted as missing), so that a drill's
                # passed checks can confirm it, as in an answers file or the web form
                reply = typer.prompt(f"{item.id} ({item.risk}) {item.question} "
                                     f"[{'/'.join(ANSWERS)}, Enter: not answered]",
                                     default="", show_default=False).strip()
                while reply and reply not in ANSWERS:
                    reply = typer.prompt(f"Answer with {', '.join(ANSWERS)} (Enter: not "
                                         "answered)", default="", show_default=False).strip()
                if reply:
                    data[s.id][item.id] = reply
        given = parse_answers(data, "answers")
    report = assess(given, organisation, evidence)
    markdown = to_markdown(report)
    if md is not None:
        _write(md, markdown, "--md")
    if html is not None:
        _write(html, to_html(report), "--html")
    if md is None and html is None:
        out.print(Markdown(markdown))
    else:
        for result in report.sections:
            out.print(f"{escape(result.section.title)}: {result.score}% "
                      f"({len(result.missing)} missing)", highlight=False)


def _check_writable(path: Path, option: str) -> None:
    """Fail before the work, not after it: a drill takes up to a minute, and its results
    were lost to a traceback when the folder of --html did not exist."""
    folder = path.parent
    if not folder.is_dir():
        fail(f"{option} {path}: the folder {folder} does not exist")
    if path.is_dir():
        fail(f"{option} {path}: is a folder; name a file")


def _write(path: Path, text: str, option: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{option} {path}: cannot write it: {exc.strerror or exc}")


def register(app: typer.Typer) -> None:
    app.command("learn")(learn)
    app.add_typer(drill_app, name="drill")
    app.command("assess")(assess_command)


__all__ = ["register"]
