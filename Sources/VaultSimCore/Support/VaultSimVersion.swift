/// VaultSim's version, as `--version`, reports and transcripts name it.
public enum VaultSimVersion {
    public static let current = "0.3.0"
}
