package dev.ephemera.event;

/**
 * The GitHub repository a job belongs to (buildomat tags {@code gong.repo.owner}, {@code gong.repo.name},
 * {@code gong.repo.id}). The buildomat owner of its jobs is {@code gong-<id>}.
 */
public record Repo(String owner, String name, long id) {
  public Repo {
    Check.text(owner, "owner");
    Check.text(name, "name");
    if (id < 1) {
      throw new IllegalArgumentException("id: must be >= 1, was " + id);
    }
  }
}
