// Entry point for the TypeORM CLI (`npm run migration:generate`); the apps use the same options.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';

export default new DataSource(dataSourceOptions(loadConfig(), 'cocode-cli'));
