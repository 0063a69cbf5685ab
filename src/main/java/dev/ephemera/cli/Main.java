package dev.ephemera.cli;

public final class Main {
  public static void main(String[] args) {}
}
