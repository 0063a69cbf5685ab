/**
 * The storage format of a set (DESIGN.md §7) and the engine that writes and reads it.
 *
 * <h2>Format</h2>
 *
 * <ul>
 *   <li>A set's content is a deterministic POSIX pax tar stream ({@link dev.ephemera.archive.TarWriter}):
 *       entries sorted by the unsigned UTF-8 bytes of their path, parents before children, numeric
 *       owner 0 and no names, mode without setuid/setgid, mtime to the nanosecond.
 *   <li>The stream is cut by FastCDC ({@link dev.ephemera.archive.FastCdc}, 256 KiB / 1 MiB / 4 MiB,
 *       fixed gear seed) into chunks; each chunk is stored once as an independent zstd frame (with its
 *       content size) under the sha256 of its raw bytes.
 *   <li>The {@link dev.ephemera.archive.Manifest} lists the chunks in order, every entry with size,
 *       mode, mtime and sha256, and the sha256 of the tar stream (the set's identity) and of the
 *       concatenated frames (what the download link serves: a plain {@code .tar.zst}).
 * </ul>
 *
 * <h2>Entry points</h2>
 *
 * <ul>
 *   <li>persist: {@link dev.ephemera.archive.ArchiveWriter#write} with a {@link
 *       dev.ephemera.archive.ChunkSink};
 *   <li>restore: {@link dev.ephemera.archive.Restorer#restore} with a {@link
 *       dev.ephemera.archive.ChunkSource};
 *   <li>unpack a downloaded archive: {@link dev.ephemera.archive.Restorer#unpack};
 *   <li>fill in {@code archive_sha256} where the frames are: {@link
 *       dev.ephemera.archive.ArchiveDigest#compute}.
 * </ul>
 *
 * <p>Everything read is untrusted: chunks are verified against their hash before use, the tar
 * stream against {@code tar_sha256}, and {@link dev.ephemera.archive.SafeExtractor} refuses entries
 * that could escape the target; nothing reaches the target before all of that passed.
 */
package dev.ephemera.archive;
