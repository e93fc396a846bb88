import { Global, Module } from '@nestjs/common';
import { SecretBox } from '../crypto/secret-box';
import { AppConfig, getConfig } from './app-config';

@Global()
@Module({
  providers: [
    { provide: AppConfig, useFactory: () => getConfig() },
    // Both apps: gateways seal repository credentials, workers open them for a checkout.
    {
      provide: SecretBox,
      useFactory: (c: AppConfig) => new SecretBox(c.secrets.encryptionKey),
      inject: [AppConfig],
    },
  ],
  exports: [AppConfig, SecretBox],
})
export class ConfigModule {}
