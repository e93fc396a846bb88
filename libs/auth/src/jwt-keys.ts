import { createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { AppConfig, JwtAlgorithm } from '@app/core';

/**
 * Pre-built KeyObjects. Passing a PEM or secret string to jsonwebtoken makes it parse the key
 * on every call (~3k verifications/s); a KeyObject is parsed once (~170k/s on HS256).
 */
export class JwtKeys {
  constructor(
    readonly algorithm: JwtAlgorithm,
    readonly signKey: KeyObject,
    readonly verifyKey: KeyObject,
  ) {}

  static fromConfig(jwt: AppConfig['jwt']): JwtKeys {
    if (jwt.algorithm.startsWith('HS')) {
      const key = createSecretKey(Buffer.from(jwt.secret!, 'utf8'));
      return new JwtKeys(jwt.algorithm, key, key);
    }
    return new JwtKeys(jwt.algorithm, createPrivateKey(jwt.privateKey!), createPublicKey(jwt.publicKey!));
  }
}
