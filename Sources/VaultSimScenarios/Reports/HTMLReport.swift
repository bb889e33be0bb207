import Foundation
import VaultSimCore

/// One self-contained HTML page of a run (no network: styles and the filter script are inline),
/// rendered from the run record: a summary, filters by verdict, area and contract item, and per
/// scenario its findings (expected vs actual, with the location), its steps (op, arguments, the
/// driver's answer, time) and the driver's log; a link to its transcript and its exchanges when one was recorded.
public enum HTMLReport {
    public static func page(_ record: RunRecord) -> String {
        let areas = Set(record.scenarios.map(\.area)).sorted()
        let items = Set(record.scenarios.flatMap(\.covers)).sorted()
        let sdk = record.sdk.map { "\($0.name) \($0.version)" } ?? "unknown SDK"
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>VaultSim report: \(escape(sdk))</title>
            <style>\(style)</style>
            </head>
            <body>
            <header>
            <h1>VaultSim report <small>\(escape(sdk))</small></h1>
            <p class="meta">\(escape(record.vaultsim)) · driver <code>\(escape(record.driver))</code> · \(escape(record.mode)) mode · \
            \(record.machine.cores) cores, \(escape(record.machine.os)) \(escape(record.machine.arch))\(record.seed.map { " · order seed \($0)" } ?? "") · started \(escape(record.startedAt)) · \
            \(String(format: "%.1f", record.seconds)) s\(record.shards.map { " · shards " + $0.map { "\($0.index)/\($0.total)" }.joined(separator: ", ") } ?? "")</p>
            <p class="totals" id="totals">
            """
        for verdict in ScenarioResult.Verdict.allCases {
            html += "<span class=\"badge \(verdict.rawValue)\">\(record.count(verdict)) \(verdict.rawValue)</span> "
        }
        if let coverage = record.coverage {
            html += "<span class=\"badge coverage\">contract coverage \(coverage.covered) of \(coverage.total)</span>"
        }
        html += "</p>\n</header>\n<nav id=\"filters\">\n"
        html += "<label>Verdict <select id=\"filter-verdict\"><option value=\"\">all</option>"
        for verdict in ScenarioResult.Verdict.allCases { html += "<option value=\"\(verdict.rawValue)\">\(verdict.rawValue)</option>" }
        html += "</select></label>\n<label>Area <select id=\"filter-area\"><option value=\"\">all</option>"
        for area in areas { html += "<option value=\"\(escape(area))\">\(escape(area))</option>" }
        html += "</select></label>\n<label>Contract item <select id=\"filter-item\"><option value=\"\">all</option>"
        for item in items { html += "<option value=\"\(escape(item))\">\(escape(item))</option>" }
        html += "</select></label>\n<label>Search <input id=\"filter-text\" type=\"search\" placeholder=\"id or title\"></label>\n"
        html += "<span id=\"shown\">\(record.scenarios.count) shown</span>\n</nav>\n<main id=\"scenarios\">\n"
        for scenario in record.scenarios { html += section(scenario) }
        html += "</main>\n"
        if let coverage = record.coverage, !coverage.uncovered.isEmpty {
            html += "<section id=\"uncovered\"><h2>Contract items without a passing scenario (\(coverage.uncovered.count))</h2><ul>\n"
            for item in coverage.uncovered { html += "<li><code>\(escape(item.first ?? ""))</code> \(escape(item.dropFirst().joined(separator: " ")))</li>\n" }
            html += "</ul></section>\n"
        }
        html += "<script>\(script)</script>\n</body>\n</html>\n"
        return html
    }

    static func section(_ scenario: ScenarioResult) -> String {
        let attributes = "data-verdict=\"\(scenario.verdict.rawValue)\" data-area=\"\(escape(scenario.area))\" "
            + "data-items=\"\(escape(scenario.covers.joined(separator: " ")))\" data-text=\"\(escape((scenario.scenarioID + " " + scenario.title).lowercased()))\""
        var html = "<details class=\"scenario \(scenario.verdict.rawValue)\" \(attributes)\(scenario.verdict == .passed ? "" : " open")>\n"
        html += "<summary><span class=\"badge \(scenario.verdict.rawValue)\">\(scenario.verdict.rawValue)</span> <b>\(escape(scenario.scenarioID))</b> "
        html += "\(escape(scenario.title)) <small>\(String(format: "%.2f", scenario.duration.seconds)) s</small></summary>\n"
        html += "<p class=\"meta\"><code>\(escape(scenario.location.description))</code>"
        if !scenario.covers.isEmpty { html += " · covers " + scenario.covers.map { "<code>\(escape($0))</code>" }.joined(separator: " ") }
        if !scenario.tags.isEmpty { html += " · tags " + scenario.tags.map(escape).joined(separator: ", ") }
        if let transcript = scenario.transcript { html += " · <a href=\"\(escape(transcript))\">transcript</a>" }
        html += "</p>\n"
        if let reason = scenario.skipReason { html += "<p class=\"skip\">Skipped: \(escape(reason))</p>\n" }
        if !scenario.findings.isEmpty {
            html += "<ol class=\"findings\">\n"
            for finding in scenario.findings {
                html += "<li><span class=\"kind\">\(finding.kind.rawValue)</span> "
                if let location = finding.location { html += "<code>\(escape(location.description))</code> " }
                if let expected = finding.expected, let actual = finding.actual {
                    html += "<b>\(escape(finding.path ?? finding.step ?? ""))</b>"
                    html += "<table class=\"diff\"><tr><th>expected</th><td><pre>\(escape(expected))</pre></td></tr>"
                    html += "<tr><th>actual</th><td><pre>\(escape(actual))</pre></td></tr></table>"
                    html += "<div class=\"message\">\(escape(finding.message))</div>"
                } else {
                    html += "<div class=\"message\">\(escape(finding.message))</div>"
                }
                html += "</li>\n"
            }
            html += "</ol>\n"
        }
        if !scenario.steps.isEmpty {
            html += "<table class=\"steps\"><thead><tr><th>step</th><th>op</th><th>arguments</th><th>answer</th><th>s</th></tr></thead><tbody>\n"
            for step in scenario.steps {
                html += "<tr class=\"\(step.passed ? "ok" : "bad")\"><td>\(escape(step.id))<br><small>\(escape(step.location.description))</small></td>"
                html += "<td>\(escape(step.op))</td><td><pre>\(escape(step.arguments.map(pretty) ?? ""))</pre></td>"
                html += "<td><pre>\(escape(step.answer.map(pretty) ?? ""))</pre></td><td>\(String(format: "%.3f", step.seconds))</td></tr>\n"
            }
            html += "</tbody></table>\n"
        }
        if !scenario.exchanges.isEmpty {
            html += "<details class=\"exchanges\"><summary>recorded exchanges (\(scenario.exchanges.count))</summary>"
            html += "<table class=\"exchanges\"><thead><tr><th>#</th><th>caller</th><th>request</th><th>status</th><th>answered by</th><th>step</th><th>ms</th></tr></thead><tbody>\n"
            for (index, exchange) in scenario.exchanges.enumerated() {
                html += "<tr><td>\(index)</td><td>\(escape(exchange.caller))</td><td><code>\(escape(exchange.method)) \(escape(exchange.url))</code></td>"
                html += "<td>\(exchange.status)</td><td>\(escape(exchange.answeredBy ?? ""))</td><td>\(escape(exchange.step ?? ""))</td>"
                html += "<td>\(String(format: "%.1f", exchange.milliseconds))</td></tr>\n"
            }
            html += "</tbody></table></details>\n"
        }
        if !scenario.driverLog.isEmpty {
            html += "<details class=\"log\"><summary>driver log (\(scenario.driverLog.utf8.count) bytes)</summary><pre>\(escape(String(scenario.driverLog.suffix(20_000))))</pre></details>\n"
        }
        html += "</details>\n"
        return html
    }

    /// A JSON value shown in a step's cell, cut short when long.
    static func pretty(_ value: JSONValue) -> String {
        let text = value.jsonText
        return text.count > 2_000 ? String(text.prefix(2_000)) + "…" : text
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static let style = """
        body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
        header,nav,main,section{padding:0 24px}header{background:#fff;border-bottom:1px solid #d0d7de;padding-bottom:8px}
        h1 small{font-weight:normal;color:#57606a}.meta{color:#57606a;margin:4px 0}
        nav{display:flex;gap:16px;align-items:center;flex-wrap:wrap;padding-top:12px;padding-bottom:12px}
        .badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;color:#fff;background:#57606a}
        .badge.passed{background:#1a7f37}.badge.failed{background:#cf222e}.badge.skipped{background:#9a6700}.badge.errored{background:#8250df}
        .badge.coverage{background:#0969da}
        details.scenario{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:8px 0;padding:6px 12px}
        details.scenario.failed{border-left:4px solid #cf222e}details.scenario.errored{border-left:4px solid #8250df}
        summary{cursor:pointer}pre{white-space:pre-wrap;word-break:break-all;margin:0;font-size:12px}
        table{border-collapse:collapse;width:100%;margin:6px 0}td,th{border:1px solid #d0d7de;padding:3px 6px;vertical-align:top;text-align:left}
        tr.bad td{background:#ffebe9}.diff th{width:80px}.kind{font-size:11px;text-transform:uppercase;color:#57606a}
        .findings li{margin:6px 0}.message{color:#57606a;font-size:12px}[hidden]{display:none}
        """

    static let script = """
        (function () {
          var verdict = document.getElementById('filter-verdict'), area = document.getElementById('filter-area');
          var item = document.getElementById('filter-item'), text = document.getElementById('filter-text');
          var shown = document.getElementById('shown');
          function apply() {
            var count = 0, query = text.value.trim().toLowerCase();
            document.querySelectorAll('details.scenario').forEach(function (el) {
              var ok = (!verdict.value || el.dataset.verdict === verdict.value)
                && (!area.value || el.dataset.area === area.value)
                && (!item.value || el.dataset.items.split(' ').indexOf(item.value) >= 0)
                && (!query || el.dataset.text.indexOf(query) >= 0);
              el.hidden = !ok;
              if (ok) { count += 1; }
            });
            shown.textContent = count + ' shown';
          }
          [verdict, area, item].forEach(function (el) { el.addEventListener('change', apply); });
          text.addEventListener('input', apply);
          var hash = new URLSearchParams(location.hash.slice(1));
          if (hash.get('verdict')) { verdict.value = hash.get('verdict'); }
          apply();
        })();
        """
}
