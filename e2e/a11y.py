"""Accessibility checks for browser tests: axe-core (vendored under e2e/vendor/axe-core,
test-only) and touch-target sizes."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
MIN_TARGET_PX = 44

#: Controls a finger must hit. Links inside running text are exempt (WCAG 2.5.8, inline).
TARGETS = ("main button, main .btn, main summary, main select, main textarea, "
           "main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), "
           "main .menu-items a, main .m-choice, header .bell")


def axe_violations(page: Page, impacts: tuple[str, ...] = BLOCKING) -> list[dict]:
    """Run axe-core on the page as it is now; violations of the given impacts."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Not add_script_tag: the app's Content-Security-Policy (script-src 'self') refuses an
        # injected inline script; an evaluation from the test driver is not subject to it.
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
    }""")
    return [v for v in found if v["impact"] in impacts]


def assert_accessible(page: Page, where: str) -> None:
    """No serious or critical axe-core violation on the page."""
    violations = axe_violations(page)
    assert not violations, f"axe-core at {where} ({page.url}): {violations}"


def small_targets(page: Page, selector: str = TARGETS) -> list[dict]:
    """Visible controls smaller than 44 x 44 CSS px."""
    return page.evaluate("""([selector, min]) => {
        const out = [];
        for (const el of document.querySelectorAll(selector)) {
            const box = el.getBoundingClientRect();
            const style = getComputedStyle(el);
            if (box.width === 0 || box.height === 0 || style.visibility === "hidden") continue;
            if (box.width < min || box.height < min) {
                out.push({tag: el.tagName.toLowerCase(), id: el.id, cls: el.className,
                          text: (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 40),
                          width: Math.round(box.width), height: Math.round(box.height)});
            }
        }
        return out;
    }""", [selector, MIN_TARGET_PX])


def assert_touch_targets(page: Page, where: str) -> None:
    small = small_targets(page)
    assert not small, f"touch targets under {MIN_TARGET_PX}px at {where}: {small}"
