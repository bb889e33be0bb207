import Foundation

/// Python scripts for raw-socket work in tests.
enum PythonScript {
    /// Runs a script and returns what it printed. The wait happens on a thread of its own:
    /// blocking one of the two threads of Swift's task pool would starve the server under test
    /// (and every other test) while the script waits for it.
    static func run(_ script: String) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let reading = pipe.fileHandleForReading
        return await withCheckedContinuation { continuation in
            Thread {
                let output = String(decoding: reading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                continuation.resume(returning: output)
            }.start()
        }
    }

    /// A script prelude: `exchange(data, wait, half_close)` sends bytes on a new connection and
    /// returns all it reads until the peer closes or `wait` seconds pass with nothing new;
    /// `closed_by_proxy()` then tells which of the two ended it (no timing thresholds).
    static func socketPrelude(port: Int) -> String {
        """
        import socket, sys, time
        ENDED = {"by_proxy": False}
        def closed_by_proxy():
            return ENDED["by_proxy"]
        def exchange(data, wait=2.0, half_close=False):
            ENDED["by_proxy"] = False
            s = socket.create_connection(("127.0.0.1", \(port)), timeout=5)
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
            s.settimeout(wait)
            got = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        ENDED["by_proxy"] = True
                        break
                    got += chunk
            except socket.timeout:
                pass
            except ConnectionResetError:
                ENDED["by_proxy"] = True
            s.close()
            return got

        """
    }
}
