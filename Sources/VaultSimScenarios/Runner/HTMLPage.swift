import Foundation

/// What the simulated user reads of an HTML page: its title, headings, forms (fields, buttons,
/// select options) and elements by id with their attributes. A small tag scanner rather than an
/// HTML parser — no HTML parser is among the packages on this machine (FoundationXML's HTML
/// mode is not available on Linux) — enough for pages whose markup VaultSim writes itself.
struct HTMLPage: Sendable {
    struct Element: Sendable {
        var name: String
        var attributes: [String: String]
        var text = ""
    }

    struct Field: Sendable {
        var kind: String
        var name: String
        var value: String
        var checked: Bool
        /// The text of the field's label (checkboxes and radios).
        var label: String
    }

    struct Button: Sendable {
        var name: String?
        var value: String?
        var label: String
    }

    struct Select: Sendable {
        var name: String
        var options: [(value: String, label: String, selected: Bool)]
    }

    struct Form: Sendable {
        var id: String?
        var method: String
        var action: String
        var fields: [Field] = []
        var buttons: [Button] = []
        var selects: [Select] = []
    }

    var title = ""
    var headings: [String] = []
    var forms: [Form] = []
    /// Elements with an `id`, by id.
    var elements: [String: Element] = [:]

    init(_ html: String) {
        var scanner = Scanner(html)
        var form: Form?
        var open: [(element: Element, id: String?)] = []
        var label: String?
        var pendingField: Field?
        var option: (value: String?, selected: Bool, text: String)?
        var select: Select?

        func finishField() {
            guard let field = pendingField else { return }
            var done = field
            done.label = (label ?? "").trimmed
            form?.fields.append(done)
            pendingField = nil
        }

        while let token = scanner.next() {
            switch token {
            case .text(let text):
                for index in open.indices { open[index].element.text += text }
                if label != nil { label! += text }
                if option != nil { option!.text += text }
            case .start(let name, let attributes, let selfClosing):
                switch name {
                case "form":
                    form = Form(id: attributes["id"], method: (attributes["method"] ?? "get").lowercased(), action: attributes["action"] ?? "")
                case "input":
                    let kind = (attributes["type"] ?? "text").lowercased()
                    let field = Field(kind: kind, name: attributes["name"] ?? "", value: attributes["value"] ?? (kind == "checkbox" || kind == "radio" ? "on" : ""),
                                      checked: attributes["checked"] != nil, label: "")
                    if label != nil, kind == "checkbox" || kind == "radio" {
                        finishField()
                        pendingField = field
                    } else {
                        form?.fields.append(field)
                    }
                case "label": label = ""
                case "select": select = Select(name: attributes["name"] ?? "", options: [])
                case "option": option = (attributes["value"], attributes["selected"] != nil, "")
                default: break
                }
                if !selfClosing, !Self.voidElements.contains(name) {
                    open.append((Element(name: name, attributes: attributes), attributes["id"]))
                }
            case .end(let name):
                switch name {
                case "form":
                    finishField()
                    if let done = form { forms.append(done) }
                    form = nil
                case "label":
                    finishField()
                    label = nil
                case "option":
                    if let current = option {
                        select?.options.append((current.value ?? current.text.trimmed, current.text.trimmed, current.selected))
                    }
                    option = nil
                case "select":
                    if let done = select { form?.selects.append(done) }
                    select = nil
                default: break
                }
                guard let index = open.lastIndex(where: { $0.element.name == name }) else { continue }
                let closed = open[index]
                open.removeSubrange(index...)
                let text = closed.element.text.trimmed
                switch name {
                case "title": title = text
                case "h1", "h2": headings.append(text)
                case "button":
                    form?.buttons.append(Button(name: closed.element.attributes["name"], value: closed.element.attributes["value"], label: text))
                default: break
                }
                if let id = closed.id {
                    var element = closed.element
                    element.text = text
                    elements[id] = element
                }
            }
        }
        // Elements never closed (a div at the end of a sloppy page) are still found by id.
        for (element, id) in open { if let id, elements[id] == nil { elements[id] = element } }
    }

    static let voidElements: Set<String> = ["input", "meta", "link", "br", "img", "hr", "source", "area", "base", "col", "embed", "wbr"]

    // MARK: tokens

    enum Token {
        case text(String)
        case start(String, [String: String], selfClosing: Bool)
        case end(String)
    }

    struct Scanner {
        let chars: [Character]
        var index = 0

        init(_ html: String) { chars = Array(html) }

        mutating func next() -> Token? {
            guard index < chars.count else { return nil }
            if chars[index] != "<" {
                let start = index
                while index < chars.count, chars[index] != "<" { index += 1 }
                return .text(HTMLPage.decodeEntities(String(chars[start..<index])))
            }
            if starts(with: "<!--") {
                index = find("-->").map { $0 + 3 } ?? chars.count
                return next()
            }
            if starts(with: "<!") || starts(with: "<?") {
                index = find(">").map { $0 + 1 } ?? chars.count
                return next()
            }
            index += 1
            if index < chars.count, chars[index] == "/" {
                index += 1
                let name = readName()
                index = find(">").map { $0 + 1 } ?? chars.count
                return .end(name)
            }
            let name = readName()
            guard !name.isEmpty else { return .text("<") }
            var attributes: [String: String] = [:]
            var selfClosing = false
            while index < chars.count {
                skipSpace()
                guard index < chars.count else { break }
                if chars[index] == ">" { index += 1; break }
                if chars[index] == "/" { selfClosing = true; index += 1; continue }
                let key = readName()
                guard !key.isEmpty else { index += 1; continue }
                skipSpace()
                var value = ""
                if index < chars.count, chars[index] == "=" {
                    index += 1
                    skipSpace()
                    if index < chars.count, chars[index] == "\"" || chars[index] == "'" {
                        let quote = chars[index]
                        index += 1
                        let start = index
                        while index < chars.count, chars[index] != quote { index += 1 }
                        value = String(chars[start..<min(index, chars.count)])
                        index += 1
                    } else {
                        let start = index
                        while index < chars.count, !chars[index].isWhitespace, chars[index] != ">" { index += 1 }
                        value = String(chars[start..<index])
                    }
                }
                attributes[key] = HTMLPage.decodeEntities(value)
            }
            // Script and style bodies are raw text, not markup.
            if name == "script" || name == "style", let end = find("</\(name)") {
                index = end
            }
            return .start(name, attributes, selfClosing: selfClosing)
        }

        private func starts(with prefix: String) -> Bool {
            let p = Array(prefix)
            return index + p.count <= chars.count && Array(chars[index..<index + p.count]) == p
        }

        private func find(_ text: String) -> Int? {
            let p = Array(text.lowercased())
            guard p.count <= chars.count else { return nil }
            var i = index
            while i + p.count <= chars.count {
                if String(chars[i..<i + p.count]).lowercased() == String(p) { return i }
                i += 1
            }
            return nil
        }

        private mutating func readName() -> String {
            let start = index
            while index < chars.count, chars[index].isLetter || chars[index].isNumber || "-_:".contains(chars[index]) { index += 1 }
            return String(chars[start..<index]).lowercased()
        }

        private mutating func skipSpace() {
            while index < chars.count, chars[index].isWhitespace { index += 1 }
        }
    }

    /// Decodes the entities pages use: named basics and numeric references.
    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            result += rest[..<amp]
            let after = rest[amp...]
            guard let semi = after.firstIndex(of: ";"), after.distance(from: amp, to: semi) <= 10 else {
                result += "&"
                rest = rest[rest.index(after: amp)...]
                continue
            }
            let name = String(after[after.index(after: amp)..<semi])
            let named = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{a0}"]
            if let value = named[name] {
                result += value
            } else if name.hasPrefix("#x") || name.hasPrefix("#X"), let code = UInt32(name.dropFirst(2), radix: 16), let scalar = Unicode.Scalar(code) {
                result.unicodeScalars.append(scalar)
            } else if name.hasPrefix("#"), let code = UInt32(name.dropFirst()), let scalar = Unicode.Scalar(code) {
                result.unicodeScalars.append(scalar)
            } else {
                result += "&" + name + ";"
            }
            rest = rest[rest.index(after: semi)...]
        }
        return result + rest
    }
}

extension String {
    var trimmed: String {
        split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
