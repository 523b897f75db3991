/// A syntax error in a selector, located precisely enough to draw a caret under the culprit.
public struct SelectorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 0-based offset, counted in `Character`s, into `text`.
    public let position: Int
    /// What was expected and what was found, without the position (``description`` adds it).
    public let message: String
    /// The whole selector as the user wrote it.
    public let text: String

    public init(position: Int, message: String, text: String) {
        self.position = position
        self.message = message
        self.text = text
    }

    /// The message, the selector, and a caret under the offending character, like a compiler.
    public var description: String {
        var echo = ""
        var caret = ""
        for (offset, character) in text.enumerated() {
            // A line break inside the selector would tear the caret away from its line.
            echo.append(character.isNewline ? " " : character)
            // Tabs are repeated so the caret lands under the same column the terminal shows.
            if offset < position {
                caret.append(character == "\t" ? "\t" : " ")
            }
        }
        caret.append("^")
        return "\(message) at position \(position)\n\(echo)\n\(caret)"
    }
}
