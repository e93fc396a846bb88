import { Permission, Principal, Role } from '@app/core';
import { ProjectAccessService, ProjectsModule } from '@app/projects';
import { IntegrationContext, rejection } from '../support/integration';

/** Who sees and who may change a project (ProjectAccessService), on a real database. */
describe('ProjectAccessService', () => {
  let ctx: IntegrationContext;
  let access: ProjectAccessService;
  let owner: Principal; // product manager, owns every project here
  let developer: Principal; // member of every project
  let viewer: Principal; // member, whose role only reads
  let outsider: Principal; // developer, member of none
  let admin: Principal;
  let privateProject: { id: string; key: string };
  let internalProject: { id: string; key: string };
  let archived: { id: string; key: string };

  beforeAll(async () => {
    ctx = await IntegrationContext.start([ProjectsModule]);
    access = ctx.get(ProjectAccessService);
    [owner, developer, viewer, outsider, admin] = [
      await ctx.user(Role.ProductManager),
      await ctx.user(Role.Developer),
      await ctx.user(Role.Viewer),
      await ctx.user(Role.Developer),
      await ctx.user(Role.Admin),
    ];
    privateProject = await ctx.project(owner, [developer, viewer]);
    internalProject = await ctx.project(owner, [developer, viewer], { visibility: 'internal' });
    archived = await ctx.project(owner, [developer], { status: 'archived' });
  });
  afterAll(() => ctx?.stop());

  const notFound = (id: string) => ({
    code: 'NOT_FOUND',
    status: 404,
    message: 'Project not found',
    details: { resource: 'project', id },
  });
  const forbidden = (required: Permission) => ({
    code: 'FORBIDDEN',
    status: 403,
    message: 'Only members of this project whose role allows it may change it',
    details: { required },
  });

  it('shows a private project to its members and administrators, with their membership', async () => {
    expect((await access.readable(owner, privateProject.id)).memberRole).toBe('owner');
    expect((await access.readable(developer, privateProject.id)).memberRole).toBe('member');
    const seen = await access.readable(admin, privateProject.id);
    expect(seen.memberRole).toBeNull();
    expect(seen.project).toEqual(
      expect.objectContaining({ id: privateProject.id, key: privateProject.key, ownerId: owner.userId }),
    );
    expect((await access.readableByKey(viewer, privateProject.key)).project.id).toBe(privateProject.id);
  });

  it('answers 404 to a non-member, exactly as for a project that does not exist', async () => {
    expect(await rejection(access.readable(outsider, privateProject.id))).toEqual(
      notFound(privateProject.id),
    );
    expect(await rejection(access.readableByKey(outsider, privateProject.key))).toEqual(
      notFound(privateProject.key),
    );
    expect(await rejection(access.readable(admin, 'prj_doesnotexist0000'))).toEqual(
      notFound('prj_doesnotexist0000'),
    );
    // Not 403: whether the project exists is not told either.
    expect(await rejection(access.writable(outsider, privateProject.id, Permission.TasksWrite))).toEqual(
      notFound(privateProject.id),
    );
  });

  it('shows an internal project to everyone, and lets only members whose role allows it change it', async () => {
    const seen = await access.readable(outsider, internalProject.id);
    expect(seen.memberRole).toBeNull();
    expect(await rejection(access.writable(outsider, internalProject.id, Permission.TasksWrite))).toEqual(
      forbidden(Permission.TasksWrite),
    );
    expect(await rejection(access.writable(viewer, internalProject.id, Permission.TasksWrite))).toEqual(
      forbidden(Permission.TasksWrite),
    );
    expect((await access.writable(developer, internalProject.id, Permission.TasksWrite)).memberRole).toBe(
      'member',
    );
    // An administrator changes any project, member or not.
    expect((await access.writable(admin, internalProject.id, Permission.TasksWrite)).memberRole).toBeNull();
  });

  it('keeps an archived project readable and refuses every change to it, also to an administrator', async () => {
    const seen = await access.readable(developer, archived.id);
    expect(seen.project.status).toBe('archived');
    const readOnly = {
      code: 'CONFLICT',
      status: 409,
      message: 'This project is archived; it is read-only',
      details: { projectId: archived.id },
    };
    expect(await rejection(access.writable(developer, archived.id, Permission.TasksWrite))).toEqual(readOnly);
    expect(await rejection(access.writable(owner, archived.id, Permission.ProjectsWrite))).toEqual(readOnly);
    expect(await rejection(access.writable(admin, archived.id, Permission.TasksWrite))).toEqual(readOnly);
    // Someone who may not see it learns nothing, not even that it is archived.
    expect(await rejection(access.writable(outsider, archived.id, Permission.TasksWrite))).toEqual(
      notFound(archived.id),
    );
  });

  it('tells which of some users may see a project (approvers of a deployment, say)', async () => {
    const everyone = [owner, developer, viewer, outsider, admin].map((p) => p.userId);
    expect([...(await access.usersWhoCanSee(privateProject.id, everyone))].sort()).toEqual(
      [owner, developer, viewer, admin].map((p) => p.userId).sort(),
    );
    expect([...(await access.usersWhoCanSee(internalProject.id, everyone))].sort()).toEqual(
      [...everyone].sort(),
    );
    expect([...(await access.usersWhoCanSee(privateProject.id, ['usr_nobody0000000000']))]).toEqual([]);
  });
});
