/**
 * Where a build's artifacts lie in the FileStore: `builds/<buildId>/<file>`, `file` being the
 * StoredArtifact's (`<attempt>/<n>`: the run that collected it, so a run that lost its lease
 * deletes its own files only).
 */
export const buildArtifactsPrefix = (buildId: string): string => `builds/${buildId}/`;

export const buildArtifactKey = (buildId: string, file: string): string =>
  `${buildArtifactsPrefix(buildId)}${file}`;
